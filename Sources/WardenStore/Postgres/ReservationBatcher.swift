import PostgresNIO
import Synchronization
import WardenPolicy

/// Sends the reservations of concurrent calls together: while one reservation statement of
/// this instance is in flight, the reservations that arrive wait, and go in the next
/// statement, all of them (`warden_reserve_batch`). Each call keeps its own all-or-nothing,
/// in arrival order. Many calls on one count (a grant's limit) then take its row's lock and
/// wait for a commit once per statement instead of once each, which is what bounds how many
/// reservations one row takes a second. A call alone goes at once, as before.
///
/// A statement that fails fails every call in it, and the calls waiting behind it: the store
/// is unavailable for them too, and they learn it within the same bound.
final class ReservationBatcher: Sendable {
    /// One call's counts after its turn (or, refused, as they were), by key name.
    struct Outcome: Sendable {
        var counts: [String: CounterAmount]
        var refused: Bool
    }

    private struct Waiting {
        let plan: PostgresCounterLedger.Plan
        let continuation: CheckedContinuation<Outcome, any Error>
    }

    private struct State {
        var sending = false
        var waiting: [Waiting] = []
    }

    /// The most calls one statement carries.
    static let maximumBatch = 256

    private let database: PostgresDatabase
    private let state = Mutex(State())

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// Reserves `plan` (one call's reservations, per key), with whatever else is waiting.
    func reserve(_ plan: PostgresCounterLedger.Plan) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let leads = state.withLock { state in
                state.waiting.append(Waiting(plan: plan, continuation: continuation))
                defer { state.sending = true }
                return !state.sending
            }
            if leads { Task { await self.sendWhileWaiting() } }
        }
    }

    /// Sends batches until nobody waits.
    private func sendWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let taken = Array(state.waiting.prefix(Self.maximumBatch))
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty { state.sending = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                let outcomes = try await send(batch.map(\.plan))
                for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(returning: outcome) }
            } catch {
                let behind = state.withLock { state in
                    defer { state.waiting.removeAll() }
                    return state.waiting
                }
                for waiting in batch + behind { waiting.continuation.resume(throwing: error) }
            }
        }
    }

    /// One statement for every plan; their outcomes, in order.
    private func send(_ plans: [PostgresCounterLedger.Plan]) async throws -> [Outcome] {
        var calls: [Int32] = [], keys: [String] = [], amounts: [String] = [], thresholds: [String] = [], windowEnds: [Int64] = []
        for (index, plan) in plans.enumerated() {
            calls.append(contentsOf: repeatElement(Int32(index), count: plan.keys.count))
            keys.append(contentsOf: plan.keys)
            amounts.append(contentsOf: plan.amounts)
            thresholds.append(contentsOf: plan.thresholds)
            windowEnds.append(contentsOf: plan.windowEnds)
        }
        let rows = try await database.query(
            """
            SELECT call_index, counter_key, counter_amount, refused FROM warden_reserve_batch(
                \(calls), \(keys), \(amounts)::text[]::numeric[], \(thresholds)::text[]::numeric[], \(windowEnds))
            """, "reserving counts")
        var outcomes = Array(repeating: Outcome(counts: [:], refused: true), count: plans.count)
        for row in rows {
            let (call, key, amount, refused) = try row.decode((Int32, String, String, Bool).self)
            guard outcomes.indices.contains(Int(call)) else { continue }
            outcomes[Int(call)].counts[key] = CounterAmount(amount) ?? .zero
            outcomes[Int(call)].refused = refused
        }
        return outcomes
    }
}
