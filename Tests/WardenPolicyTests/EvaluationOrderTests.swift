import Testing
import WardenJSON
import WardenPolicy

@Suite struct EvaluationOrderTests {
    /// Every rule kind on one tool, each of which a crafted call can trip.
    static let everything = """
        version: "1"
        default: deny
        hide: [secret_tool]
        all_tools:
          deny_if:
            - conditions: [{path: identity.labels.suspended, op: eq, value: "yes"}]
              on_deny: this identity is suspended
        tools:
          secret_tool: {}
          blocked: {action: deny, reason: blocked for maintenance}
          transfer:
            require:
              - {path: identity.labels.team, op: eq, value: payments, reason: only payments may transfer}
            deny_if:
              - conditions: [{path: args.to, op: regex, value: "^sanctioned"}]
                on_deny: {reason: recipient is sanctioned}
            args:
              type: object
              required: [amount, to]
              properties:
                amount: {type: number, maximum: 1000}
                to: {type: string}
            limits:
              - {counter: transfers, window: minute, max: 2, scope: identity}
            approval: {timeout: 5m}
        """

    @Test func hiddenComesFirst() throws {
        let policy = try loadYAML(Self.everything)
        let decision = evaluate(policy, try call("secret_tool"))
        #expect(decision.outcome == .hidden)
        #expect(decision.rule.description == "(hidden)")
        #expect(decision.message == "Unknown tool: secret_tool")
    }

    @Test func actionDenyBeforeEverythingElse() throws {
        let policy = try loadYAML(Self.everything)
        let decision = evaluate(policy, try call("blocked"))
        #expect(decision.outcome == .deny)
        #expect(decision.rule.description == "/tools/blocked/action")
        #expect(decision.message == "blocked for maintenance")
    }

    @Test func defaultDenyBeforeRequire() throws {
        let policy = try loadYAML(Self.everything)
        #expect(evaluate(policy, try call("unknown")).rule == .defaultDeny)
    }

    @Test func requireBeforeDenyIf() throws {
        let policy = try loadYAML(Self.everything)
        let outsider = Identity(name: "eve", labels: ["team": "sales"])
        let decision = evaluate(policy, try call("transfer", #"{"to": "sanctioned-1", "amount": 5}"#, identity: outsider))
        #expect(decision.rule.description == "/tools/transfer/require/0")
        #expect(decision.message == "only payments may transfer")
    }

    @Test func allToolsDenyIfBeforeTheToolsOwn() throws {
        let policy = try loadYAML(Self.everything)
        let suspended = Identity(name: "sam", labels: ["team": "payments", "suspended": "yes"])
        let decision = evaluate(policy, try call("transfer", #"{"to": "sanctioned-1", "amount": 5}"#, identity: suspended))
        #expect(decision.rule.description == "/all_tools/deny_if/0")
        #expect(decision.message == "this identity is suspended")
    }

    @Test func denyIfBeforeArgumentValidation() throws {
        let policy = try loadYAML(Self.everything)
        let decision = evaluate(policy, try call("transfer", #"{"to": "sanctioned-1", "amount": 5000}"#))
        #expect(decision.rule.description == "/tools/transfer/deny_if/0")
        #expect(decision.message == "recipient is sanctioned")
    }

    @Test func argumentValidationBeforeLimits() async throws {
        let policy = try loadYAML(Self.everything)
        let ledger = InMemoryCounterLedger()
        let good = try call("transfer", #"{"to": "bob", "amount": 5}"#)
        _ = try await enforce(policy, good, times: 2, ledger: ledger)
        let bad = try await enforce(policy, try call("transfer", #"{"to": "bob", "amount": 5000}"#), times: 1, ledger: ledger)
        #expect(bad[0].rule.description == "/tools/transfer/args/properties/amount/maximum")
        #expect(bad[0].message == "invalid arguments: /amount must be <= 1000")
    }

    @Test func limitsBeforeApproval() async throws {
        let policy = try loadYAML(Self.everything)
        let decisions = try await enforce(policy, try call("transfer", #"{"to": "bob", "amount": 5}"#), times: 3)
        #expect(decisions.map(\.outcome) == [.approvalRequired, .approvalRequired, .deny])
        #expect(decisions[0].rule.description == "/tools/transfer/approval")
        #expect(decisions[0].approval?.timeoutSeconds == 300)
        #expect(decisions[0].reservations.count == 1)
        #expect(decisions[2].rule.description == "/tools/transfer/limits/0")
    }

    @Test func requireApprovalActionWithoutBlockUsesDefaults() throws {
        let policy = try loadYAML("tools:\n  wipe: {action: require_approval, reason: wiping needs a human}\n")
        let decision = evaluate(policy, try call("wipe"))
        #expect(decision.outcome == .approvalRequired)
        #expect(decision.rule.description == "/tools/wipe/action")
        #expect(decision.message == "wiping needs a human")
        #expect(decision.approval?.timeoutSeconds == ApprovalRule.defaultTimeoutSeconds)
    }

    @Test func defaultAllowAndEmptyEntries() throws {
        let open = try loadYAML("default: allow\n")
        let decision = evaluate(open, try call("anything"))
        #expect(decision.outcome == .allow)
        #expect(decision.rule.description == "(default allow)")
        let closed = try loadYAML("tools:\n  ok: {}\n")
        #expect(evaluate(closed, try call("ok")).rule.description == "/tools/ok")
        #expect(evaluate(closed, try call("not_ok")).outcome == .deny)
    }

    @Test func hideStarHidesEveryUnlistedTool() throws {
        let policy = try loadYAML("default: allow\nhide: ['*']\ntools:\n  visible: {}\n")
        #expect(evaluate(policy, try call("visible")).outcome == .allow)
        #expect(evaluate(policy, try call("other")).outcome == .hidden)
        #expect(policy.isVisible(tool: "visible"))
        #expect(!policy.isVisible(tool: "other"))
    }

    @Test func toolNamesMatchByteForByte() throws {
        let policy = try loadYAML("default: deny\nhide: [\"caf\\u00e9\"]\ntools:\n  get_time: {}\n")
        #expect(evaluate(policy, try call("get_time")).outcome == .allow)
        #expect(evaluate(policy, try call("Get_Time")).outcome == .deny)
        #expect(evaluate(policy, try call("get_time ")).outcome == .deny)
        #expect(evaluate(policy, try call("caf\u{e9}")).outcome == .hidden)
        #expect(evaluate(policy, try call("cafe\u{301}")).outcome == .deny)
    }

    @Test func allToolsActionAppliesUnlessTheToolOverridesIt() throws {
        let policy = try loadYAML(
            """
            all_tools: {action: require_approval}
            tools:
              read: {action: allow}
              write: {}
            """)
        #expect(evaluate(policy, try call("read")).outcome == .allow)
        #expect(evaluate(policy, try call("write")).outcome == .approvalRequired)
        // Under default deny, a tool without an entry stays denied whatever all_tools says.
        #expect(evaluate(policy, try call("other")).rule == .defaultDeny)
        let open = try loadYAML("default: allow\nall_tools: {action: require_approval}\n")
        #expect(evaluate(open, try call("other")).outcome == .approvalRequired)
        #expect(evaluate(open, try call("other")).rule.description == "/all_tools/action")
    }
}
