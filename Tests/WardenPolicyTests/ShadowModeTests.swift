import Testing
import WardenJSON
import WardenPolicy

@Suite struct ShadowModeTests {
    @Test func shadowPoliciesReportButDoNotEnforce() async throws {
        let policy = try loadYAML(
            """
            mode: shadow
            hide: [h]
            tools:
              t:
                deny_if: [{conditions: [{path: args.x, op: eq, value: 1}]}]
                limits: [{window: minute, max: 1}]
            """)
        let denied = evaluate(policy, try call("t", #"{"x": 1}"#))
        #expect(denied.outcome == .deny)
        #expect(!denied.enforced)
        #expect(denied.isForwarded)
        #expect(denied.rule.description == "/tools/t/deny_if/0")

        let hidden = evaluate(policy, try call("h"))
        #expect(hidden.outcome == .hidden && !hidden.enforced)
        #expect(policy.isVisible(tool: "h"))

        // A would-be limit denial reserves nothing, exactly as under enforcement.
        let decisions = try await enforce(policy, call("t"), times: 3)
        #expect(decisions.map(\.outcome) == [.allow, .deny, .deny])
        #expect(decisions.map(\.enforced) == [true, false, false])
        #expect(decisions.map(\.reservations.count) == [1, 0, 0])
        #expect(decisions.allSatisfy { $0.isForwarded })
    }

    @Test func modeCanBeSetPerTool() throws {
        let policy = try loadYAML(
            """
            tools:
              new_rule: {mode: shadow, action: deny}
              old_rule: {action: deny}
            """)
        #expect(!evaluate(policy, try call("new_rule")).enforced)
        #expect(evaluate(policy, try call("old_rule")).enforced)
        #expect(!evaluate(policy, try call("old_rule")).isForwarded)
        let enforcedTool = try loadYAML("mode: shadow\ntools:\n  strict: {mode: enforce, action: deny}\n")
        #expect(evaluate(enforcedTool, try call("strict")).enforced)
    }
}
