import Foundation
import Testing
import WardenJSON
import WardenPolicy

/// The PolicyLayer document from DESIGN.md must load verbatim and behave as written.
@Suite struct PolicyLayerExampleTests {
    static let document = """
        {"version":"1","default":"deny","tools":{"alterlab_create_session":{"limits":[
          {"counter":"alterlab_create_session_rate","window":"minute","max":30,"scope":"grant"}]}}}
        """

    @Test func loadsVerbatim() throws {
        let policy = try PolicyLoader.load(json: Self.document)
        #expect(policy.defaultAction == .deny)
        #expect(policy.toolNames == ["alterlab_create_session"])
        let limit = try #require(policy.rule(forTool: "alterlab_create_session")?.limits.first)
        #expect(limit.counter == "alterlab_create_session_rate")
        #expect(limit.window == .minute)
        #expect(limit.max == 30)
        #expect(limit.scope == .grant)
        #expect(limit.pointer.description == "/tools/alterlab_create_session/limits/0")
    }

    @Test func allowsThirtyPerMinuteAndDeniesTheThirtyFirst() async throws {
        let policy = try PolicyLoader.load(json: Self.document)
        let decisions = try await enforce(policy, call("alterlab_create_session"), times: 31)
        #expect(decisions.prefix(30).allSatisfy { $0.outcome == .allow })
        #expect(decisions.prefix(30).allSatisfy { $0.rule.description == "/tools/alterlab_create_session" })
        let last = try #require(decisions.last)
        #expect(last.outcome == .deny)
        #expect(last.rule.description == "/tools/alterlab_create_session/limits/0")
        // testInstant is 26 s into its minute.
        #expect(last.retryAfterSeconds == 34)
    }

    @Test func theNextMinuteStartsAFreshCount() async throws {
        let policy = try PolicyLoader.load(json: Self.document)
        let ledger = InMemoryCounterLedger()
        let first = try await enforce(policy, call("alterlab_create_session"), times: 31, ledger: ledger)
        #expect(first.last?.outcome == .deny)
        let nextMinute = testInstant.addingTimeInterval(34)
        let again = try await enforce(policy, call("alterlab_create_session"), times: 1, now: nextMinute, ledger: ledger)
        #expect(again.first?.outcome == .allow)
    }

    @Test func theCountIsPerGrant() async throws {
        let policy = try PolicyLoader.load(json: Self.document)
        let ledger = InMemoryCounterLedger()
        _ = try await enforce(policy, call("alterlab_create_session"), times: 30, ledger: ledger)
        let other = try call("alterlab_create_session", identity: Identity(name: "alice", grant: "g-2"))
        #expect(try await enforce(policy, other, times: 1, ledger: ledger).first?.outcome == .allow)
    }

    @Test func anyOtherToolIsDeniedByDefault() throws {
        let policy = try PolicyLoader.load(json: Self.document)
        let decision = evaluate(policy, try call("delete_everything"))
        #expect(decision.outcome == .deny)
        #expect(decision.rule == .defaultDeny)
        #expect(decision.rule.description == "(default deny)")
    }

    @Test func theSameDocumentInYAMLBehavesTheSame() async throws {
        let yaml = """
            version: "1"
            default: deny
            tools:
              alterlab_create_session:
                limits:
                  - counter: alterlab_create_session_rate
                    window: minute
                    max: 30
                    scope: grant
            """
        let policy = try loadYAML(yaml)
        let decisions = try await enforce(policy, call("alterlab_create_session"), times: 31)
        #expect(decisions.filter { $0.outcome == .allow }.count == 30)
        #expect(decisions.last?.rule.description == "/tools/alterlab_create_session/limits/0")
    }
}
