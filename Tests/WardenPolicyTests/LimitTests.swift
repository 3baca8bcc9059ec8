import Foundation
import Testing
import WardenJSON
import WardenPolicy

@Suite struct LimitTests {
    @Test func windowsAlignToUTCBoundaries() throws {
        let instant = try Date("2026-03-14T15:09:26.750Z", strategy: .iso8601)
        let start = Int64(try Date("2026-03-14T00:00:00Z", strategy: .iso8601).timeIntervalSince1970)
        #expect(LimitWindow.second.start(containing: instant) == start + 15 * 3600 + 9 * 60 + 26)
        #expect(LimitWindow.minute.start(containing: instant) == start + 15 * 3600 + 9 * 60)
        #expect(LimitWindow.hour.start(containing: instant) == start + 15 * 3600)
        #expect(LimitWindow.day.start(containing: instant) == start)
        #expect(LimitWindow.seconds(7).start(containing: instant) % 7 == 0)
        #expect(LimitWindow.seconds(7).start(containing: Date(timeIntervalSince1970: 13)) == 7)
        #expect(LimitWindow.seconds(7).start(containing: Date(timeIntervalSince1970: 14)) == 14)
        // Before the epoch, windows still contain their instant.
        #expect(LimitWindow.minute.start(containing: Date(timeIntervalSince1970: -1)) == -60)
    }

    @Test(arguments: [("second", 1.0), ("minute", 60.0), ("hour", 3600.0), ("day", 86400.0), ("30", 30.0)])
    func aNewWindowStartsExactlyAtTheBoundary(window: String, length: Double) async throws {
        let policy = try loadYAML("tools:\n  t:\n    limits: [{window: \(window), max: 1}]\n")
        let boundary = Date(timeIntervalSince1970: 1_773_446_400)  // a UTC midnight, a multiple of 30 s
        let ledger = InMemoryCounterLedger()
        let justBefore = boundary.addingTimeInterval(-0.001)
        #expect(try await enforce(policy, call("t"), times: 1, now: justBefore.addingTimeInterval(-length + 0.002), ledger: ledger)[0].outcome == .allow)
        let denied = try await enforce(policy, call("t"), times: 1, now: justBefore, ledger: ledger)[0]
        #expect(denied.outcome == .deny)
        #expect(denied.retryAfterSeconds == 1)
        #expect(try await enforce(policy, call("t"), times: 1, now: boundary, ledger: ledger)[0].outcome == .allow)
    }

    @Test func scopesSeparateCounts() async throws {
        let alice1 = Identity(name: "alice", grant: "g-1")
        let alice2 = Identity(name: "alice", grant: "g-2")
        let bob1 = Identity(name: "bob", grant: "g-1")
        // (scope, caller and place of the second call, whether it shares the first call's count)
        let cases: [(LimitScope, Identity, String, String, Bool)] = [
            (.grant, alice2, "srv", "s-1", false), (.grant, bob1, "srv", "s-2", true),
            (.identity, alice2, "srv", "s-2", true), (.identity, bob1, "srv", "s-1", false),
            (.session, alice1, "srv", "s-2", false), (.session, bob1, "other", "s-1", true),
            (.server, bob1, "srv", "s-9", true), (.server, alice1, "other", "s-1", false),
            (.global, bob1, "other", "s-9", true),
        ]
        for (scope, identity, server, session, shared) in cases {
            let policy = try loadYAML("tools:\n  t:\n    limits: [{window: minute, max: 1, scope: \(scope.rawValue)}]\n")
            let ledger = InMemoryCounterLedger()
            _ = try await enforce(policy, call("t", identity: alice1, server: "srv", session: "s-1"), times: 1, ledger: ledger)
            let second = try await enforce(policy, call("t", identity: identity, server: server, session: session), times: 1, ledger: ledger)
            #expect((second[0].outcome == .deny) == shared, "\(scope)")
        }
    }

    @Test func incrementFromMakesAValueBudget() async throws {
        let policy = try loadYAML(
            """
            tools:
              pay:
                limits:
                  - {counter: spend, window: day, max: 100.50, scope: identity, increment_from: args.amount}
            """)
        let ledger = InMemoryCounterLedger()
        let first = try await enforce(policy, call("pay", #"{"amount": 60.25}"#), times: 1, ledger: ledger)
        #expect(first[0].outcome == .allow)
        #expect(first[0].reservations.first?.amount == CounterAmount("60.25"))
        let tooMuch = try await enforce(policy, call("pay", #"{"amount": 40.26}"#), times: 1, ledger: ledger)
        #expect(tooMuch[0].outcome == .deny)
        #expect(tooMuch[0].message.contains("\"spend\" allows 100.5 in total per day"))
        let exact = try await enforce(policy, call("pay", #"{"amount": 40.25}"#), times: 1, ledger: ledger)
        #expect(exact[0].outcome == .allow)
        for bad in [#"{}"#, #"{"amount": "10"}"#, #"{"amount": -1}"#] {
            let decision = evaluate(policy, try call("pay", bad))
            #expect(decision.outcome == .deny)
            #expect(decision.message.contains("must be a non-negative number"))
        }
    }

    @Test func rulesSharingACounterShareItsCount() async throws {
        let policy = try loadYAML(
            """
            all_tools:
              limits: [{counter: everything, window: minute, max: 3}]
            tools:
              a: {}
              b: {limits: [{counter: everything, window: minute, max: 2}]}
            """)
        let ledger = InMemoryCounterLedger()
        #expect(try await enforce(policy, call("a"), times: 1, ledger: ledger)[0].outcome == .allow)
        // b counts twice (both rules name the counter): 1 + 2 = 3 ≤ 3, but 1 + 2 > 2 for its own rule.
        let b = try await enforce(policy, call("b"), times: 1, ledger: ledger)[0]
        #expect(b.outcome == .deny)
        #expect(b.rule.description == "/tools/b/limits/0")
        #expect(try await enforce(policy, call("a"), times: 2, ledger: ledger).map(\.outcome) == [.allow, .allow])
        #expect(try await enforce(policy, call("a"), times: 1, ledger: ledger)[0].rule.description == "/all_tools/limits/0")
    }

    @Test func rateLimitShorthandIsASessionLimit() async throws {
        let policy = try loadYAML("tools:\n  t:\n    rate_limit: {max: 2, window: 60}\n")
        let limit = try #require(policy.rule(forTool: "t")?.limits.first)
        #expect(limit.scope == .session)
        #expect(limit.window == .seconds(60))
        let ledger = InMemoryCounterLedger()
        #expect(try await enforce(policy, call("t", session: "a"), times: 3, ledger: ledger).map(\.outcome) == [.allow, .allow, .deny])
        #expect(try await enforce(policy, call("t", session: "b"), times: 1, ledger: ledger)[0].outcome == .allow)
        #expect(try await enforce(policy, call("t", session: "a"), times: 1, ledger: ledger)[0].rule.description == "/tools/t/rate_limit")
    }

    @Test func rollingBackFreesTheCount() async throws {
        let policy = try loadYAML("tools:\n  t:\n    limits: [{window: minute, max: 1}]\n")
        let ledger = InMemoryCounterLedger()
        let first = try await enforce(policy, call("t"), times: 1, ledger: ledger)[0]
        #expect(try await enforce(policy, call("t"), times: 1, ledger: ledger)[0].outcome == .deny)
        ledger.rollBack(first.reservations)
        #expect(try await enforce(policy, call("t"), times: 1, ledger: ledger)[0].outcome == .allow)
    }

    @Test func concurrentCallsNeverExceedTheLimit() async throws {
        let policy = try loadYAML("tools:\n  t:\n    limits: [{window: day, max: 250, scope: global}]\n")
        let enforcer = PolicyEnforcer(policy: policy, ledger: InMemoryCounterLedger())
        let theCall = try call("t")
        let allowed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var allowed = 0
                    for _ in 0..<100 where try await enforcer.decide(theCall, now: testInstant).outcome == .allow {
                        allowed += 1
                    }
                    return allowed
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(allowed == 250)
    }

    @Test func counterKeysAreUnambiguous() {
        let a = CounterKey(counter: "a|b", scope: .grant, subject: "c", windowStart: 0, windowLength: 60)
        let b = CounterKey(counter: "a", scope: .grant, subject: "b|c", windowStart: 0, windowLength: 60)
        #expect(a != b)
        #expect(a.description != b.description)
        #expect(a.description == "a%7Cb|grant|c|0+60")
    }
}
