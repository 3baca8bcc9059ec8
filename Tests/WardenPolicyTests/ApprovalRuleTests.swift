import Testing
import WardenJSON
import WardenPolicy

@Suite struct ApprovalRuleTests {
    @Test func redactedPathsHideTheirValuesFromApproversAndNothingElse() throws {
        let policy = try loadYAML(
            """
            tools:
              pay:
                approval: {approvers: [alice, user], redact: [args.card.number, args.note, args.missing.deeper]}
            """)
        let decision = evaluate(policy, try call("pay", #"{"amount":5,"card":{"number":"4111","name":"A"},"note":"hi"}"#))
        let rule = try #require(decision.approval)
        #expect(rule.approvers == ["alice", "user"])
        let redacted = rule.redact.applied(to: try call("pay", #"{"amount":5,"card":{"number":"4111","name":"A"},"note":"hi"}"#).arguments)
        #expect(JSONWriter.write(.object(redacted)) == #"{"amount":5,"card":{"number":"[redacted]","name":"A"},"note":"[redacted]"}"#)
    }

    @Test func redactTakesOnlyArgumentPaths() {
        let found = problems("tools:\n  pay:\n    approval: {redact: [identity.name]}\n")
        #expect(found.map(\.message) == [#""identity.name" at /tools/pay/approval/redact/0 is not an argument path; write it as args.<name>"#])
    }
}
