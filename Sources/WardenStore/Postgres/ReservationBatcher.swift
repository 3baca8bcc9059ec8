import PostgresNIO
import WardenPolicy

/// Sends the reservations of concurrent calls together (a ``StatementBatcher``): one
/// `warden_reserve_batch` statement carries every call waiting, each all or nothing, in arrival
/// order, with the ``CallIntent`` of each call that has one, written only if its reservation is
/// made. One lock and one commit serve every call of the batch, which is what bounds how many
/// reservations one row takes a second.
final class ReservationBatcher: Sendable {
    /// One call's counts after its turn (or, refused, as they were), by key name.
    struct Outcome: Sendable {
        var counts: [String: CounterAmount]
        var refused: Bool
    }

    /// One call's reservations, per key, and the intent to write with them.
    struct Request: Sendable {
        var plan: PostgresCounterLedger.Plan
        var intent: CallIntent?
    }

    /// The most calls one statement carries.
    static let maximumBatch = 256

    private let batcher: StatementBatcher<Request, Outcome>

    init(database: PostgresDatabase) {
        batcher = StatementBatcher(maximumBatch: Self.maximumBatch) { requests in try await Self.send(requests, to: database) }
    }

    /// Reserves `plan` (one call's reservations, per key), and writes `intent` if it is made,
    /// with whatever else is waiting.
    func reserve(_ plan: PostgresCounterLedger.Plan, intent: CallIntent?) async throws -> Outcome {
        try await batcher.submit(Request(plan: plan, intent: intent))
    }

    /// One statement for every request; their outcomes, in order.
    private static func send(_ requests: [Request], to database: PostgresDatabase) async throws -> [Outcome] {
        var calls: [Int32] = [], keys: [String] = [], amounts: [String] = [], thresholds: [String] = [], windowEnds: [Int64] = []
        var intents = PostgresCallIntentStore.Columns()
        for (index, request) in requests.enumerated() {
            let plan = request.plan
            calls.append(contentsOf: repeatElement(Int32(index), count: plan.keys.count))
            keys.append(contentsOf: plan.keys)
            amounts.append(contentsOf: plan.amounts)
            thresholds.append(contentsOf: plan.thresholds)
            windowEnds.append(contentsOf: plan.windowEnds)
            if let intent = request.intent { intents.append(intent, call: Int32(index)) }
        }
        let rows = try await database.query(
            """
            SELECT call_index, counter_key, counter_amount, refused FROM warden_reserve_batch(
                \(calls), \(keys), \(amounts)::text[]::numeric[], \(thresholds)::text[]::numeric[], \(windowEnds),
                \(intents.calls), \(intents.ids), \(intents.instances), \(intents.holders), \(intents.processes),
                \(intents.times), \(intents.records))
            """, "reserving counts")
        var outcomes = Array(repeating: Outcome(counts: [:], refused: true), count: requests.count)
        for row in rows {
            let (call, key, amount, refused) = try row.decode((Int32, String, String, Bool).self)
            guard outcomes.indices.contains(Int(call)) else { continue }
            outcomes[Int(call)].counts[key] = CounterAmount(amount) ?? .zero
            outcomes[Int(call)].refused = refused
        }
        return outcomes
    }
}
