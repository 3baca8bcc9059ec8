import Foundation
import Testing
import WardenJSON
import WardenPolicy

@Suite struct PolicyTestRunnerTests {
    static let policy = """
        version: "1"
        default: deny
        tools:
          get_time:
            rate_limit: {max: 2, window: minute}
          transfer:
            require: [{path: identity.labels.team, op: eq, value: payments}]
        tests:
          - name: time is allowed
            tool: get_time
            expect: allow
            rule: /tools/get_time
          - name: the third call in a minute is denied
            tool: get_time
            repeat: 3
            expect: deny
            rule: /tools/get_time/rate_limit
          - name: payments may transfer
            tool: transfer
            identity: alice
            labels: {team: payments}
            args: {amount: 5}
            at: "2026-01-31T12:00:00Z"
            expect: allow
          - name: a wrong expectation
            tool: transfer
            expect: allow
        """

    @Test func casesPassAndFailLikeATestRunner() async throws {
        let policy = try loadYAML(Self.policy)
        #expect(policy.tests.count == 4)
        #expect(policy.tests[2].at == (try Date("2026-01-31T12:00:00Z", strategy: .iso8601)))
        let results = await PolicyTestRunner.run(policy.tests, against: policy, now: testInstant)
        #expect(results.map(\.passed) == [true, true, true, false])
        let failure = try #require(results[3].failure)
        #expect(failure.hasPrefix("expected allow, got deny"))
        #expect(results[3].testCase.name == "a wrong expectation")
    }

    @Test func aWrongRuleFailsTheCase() async throws {
        let policy = try loadYAML(Self.policy)
        var wrong = policy.tests[1]
        wrong.expectedRule = "/tools/get_time/limits/0"
        let result = await PolicyTestRunner.run([wrong], against: policy, now: testInstant)[0]
        #expect(result.failure?.contains("expected rule /tools/get_time/limits/0, got /tools/get_time/rate_limit") == true)
    }

    @Test func eachCaseStartsFromEmptyCounters() async throws {
        let policy = try loadYAML(Self.policy)
        let twice = Array(repeating: policy.tests[0], count: 5)
        let results = await PolicyTestRunner.run(twice, against: policy, now: testInstant)
        #expect(results.allSatisfy { $0.passed })
    }
}
