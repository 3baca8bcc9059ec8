public import Foundation

/// The result of one policy test case.
public struct PolicyTestResult: Sendable {
    /// The case.
    public var testCase: PolicyTestCase
    /// The decision the last call got.
    public var decision: Decision
    /// Why the case failed, or `nil` when it passed.
    public var failure: String?

    /// Whether the decision matched the expectation.
    public var passed: Bool { failure == nil }
}

/// Runs policy test cases: each case starts from empty counters, makes its call `repeat`
/// times at one instant and checks the last decision.
public enum PolicyTestRunner {
    /// Runs `cases` against `policy`. Cases without an `at` use `now`.
    public static func run(_ cases: [PolicyTestCase], against policy: Policy, now: Date = Date()) async -> [PolicyTestResult] {
        var results: [PolicyTestResult] = []
        for testCase in cases {
            results.append(await run(testCase, against: policy, now: now))
        }
        return results
    }

    static func run(_ testCase: PolicyTestCase, against policy: Policy, now: Date) async -> PolicyTestResult {
        let enforcer = PolicyEnforcer(policy: policy, ledger: InMemoryCounterLedger())
        let instant = testCase.at ?? now
        var decision = Decision(outcome: .deny, rule: .defaultDeny, message: "not evaluated")
        do {
            for _ in 0..<testCase.repeatCount {
                decision = try await enforcer.decide(testCase.call, now: instant)
            }
        } catch {
            return PolicyTestResult(testCase: testCase, decision: decision, failure: "evaluation failed: \(error)")
        }
        var failures: [String] = []
        if decision.outcome != testCase.expectedOutcome {
            failures.append("expected \(testCase.expectedOutcome.rawValue), got \(decision.outcome.rawValue)")
        }
        if let expectedRule = testCase.expectedRule, expectedRule != decision.rule.description {
            failures.append("expected rule \(expectedRule), got \(decision.rule)")
        }
        return PolicyTestResult(
            testCase: testCase,
            decision: decision,
            failure: failures.isEmpty ? nil : failures.joined(separator: "; ") + " (\(decision.message))"
        )
    }
}
