import Foundation
import Synchronization
import Testing
import WardenPolicy

@Suite struct SessionLocalLedgerTests {
    /// A shared ledger that records the keys it was asked about.
    final class RecordingLedger: CounterLedger {
        let base = InMemoryCounterLedger()
        let seen = Mutex<Set<LimitScope>>([])

        func note(_ keys: [CounterKey]) { seen.withLock { $0.formUnion(keys.map(\.scope)) } }
        func snapshot(of keys: [CounterKey]) -> [CounterKey: CounterAmount] { note(keys); return base.snapshot(of: keys) }
        func reserve(_ reservations: [CounterReservation]) -> CounterReservation? { note(reservations.map(\.key)); return base.reserve(reservations) }
        func rollBack(_ reservations: [CounterReservation]) { note(reservations.map(\.key)); base.rollBack(reservations) }
    }

    static let bothScopes = """
        tools:
          t:
            limits:
              - {counter: per_session, window: minute, max: 2, scope: session}
              - {counter: per_grant, window: minute, max: 3, scope: grant}
        """

    @Test func sessionCountsNeverReachTheSharedLedger() async throws {
        let shared = RecordingLedger()
        let enforcer = PolicyEnforcer(
            policy: try loadYAML("tools:\n  t:\n    rate_limit: {max: 2, window: 60}\n"), ledger: SessionLocalCounterLedger(shared: shared))
        let outcomes = try await (0..<3).asyncMap { _ in try await enforcer.decide(try call("t"), now: testInstant).outcome }
        #expect(outcomes == [.allow, .allow, .deny])
        #expect(shared.seen.withLock { $0 }.isEmpty)
    }

    @Test func otherScopesAreCountedInTheSharedLedger() async throws {
        let shared = RecordingLedger()
        let ledger = SessionLocalCounterLedger(shared: shared)
        let enforcer = PolicyEnforcer(policy: try loadYAML(Self.bothScopes), ledger: ledger)
        // Two sessions of one grant: each may make two calls, the grant three in all.
        let first = try await (0..<3).asyncMap { _ in try await enforcer.decide(try call("t", session: "s-1"), now: testInstant) }
        #expect(first.map(\.outcome) == [.allow, .allow, .deny])
        #expect(first[2].rule.description == "/tools/t/limits/0")
        let second = try await (0..<2).asyncMap { _ in try await enforcer.decide(try call("t", session: "s-2"), now: testInstant) }
        #expect(second.map(\.outcome) == [.allow, .deny])
        #expect(second[1].rule.description == "/tools/t/limits/1")
        #expect(shared.seen.withLock { $0 } == [.grant])
        // The grant's refusal gave back the session count it had taken: s-2 counted one call.
        let sessionKey = CounterKey(counter: "per_session", scope: .session, subject: "s-2", windowStart: LimitWindow.minute.start(containing: testInstant), windowLength: 60)
        #expect(try await ledger.snapshot(of: [sessionKey])[sessionKey] == 1)
    }

    @Test func rollingBackReachesBothSides() async throws {
        let ledger = SessionLocalCounterLedger(shared: RecordingLedger())
        let enforcer = PolicyEnforcer(policy: try loadYAML(Self.bothScopes), ledger: ledger)
        let allowed = try await enforcer.decide(try call("t"), now: testInstant)
        let keys = allowed.reservations.map(\.key)
        #expect(try await ledger.snapshot(of: keys).values.sorted() == [1, 1])
        try await ledger.rollBack(allowed.reservations)
        #expect(try await ledger.snapshot(of: keys).values.sorted() == [0, 0])
    }

    @Test func anEndedSessionForgetsItsCounts() async throws {
        let ledger = SessionLocalCounterLedger(shared: RecordingLedger())
        let enforcer = PolicyEnforcer(policy: try loadYAML(Self.bothScopes), ledger: ledger)
        _ = try await enforcer.decide(try call("t", session: "s-1"), now: testInstant)
        _ = try await enforcer.decide(try call("t", session: "s-2"), now: testInstant)
        ledger.endSession("s-1")
        let window = LimitWindow.minute.start(containing: testInstant)
        func count(_ counter: String, _ scope: LimitScope, _ subject: String) async throws -> CounterAmount? {
            let key = CounterKey(counter: counter, scope: scope, subject: subject, windowStart: window, windowLength: 60)
            return try await ledger.snapshot(of: [key])[key]
        }
        #expect(try await count("per_session", .session, "s-1") == 0)
        #expect(try await count("per_session", .session, "s-2") == 1)
        #expect(try await count("per_grant", .grant, "g-1") == 2)
    }

    @Test func concurrentCallsOfOneSessionNeverExceedItsLimit() async throws {
        let policy = try loadYAML("tools:\n  t:\n    limits: [{window: day, max: 250, scope: session}]\n")
        let enforcer = PolicyEnforcer(policy: policy, ledger: SessionLocalCounterLedger(shared: RecordingLedger()))
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
}

extension Range where Bound == Int {
    /// The results of `transform` for each element, in order, one after another.
    fileprivate func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
