import PostgresNIO
import Testing
import WardenTesting

@testable import WardenStore

/// `warden_reserve_batch` as version 5 writes it (one pass, counts in memory) decides every
/// batch as version 2's did (three statements per call): the same rows back, the same counts
/// left, over random batches of calls on shared keys, some refused, entries out of order.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresReserveBatchTests {
    struct Batch {
        var calls: [Int32] = []
        var keys: [String] = []
        var amounts: [String] = []
        var thresholds: [String] = []
        var windowEnds: [Int64] = []
    }

    /// A random batch: up to 12 calls, each on 1 to 3 distinct keys of 4, entries shuffled.
    static func batch(_ generator: inout SeededGenerator) -> Batch {
        var entries: [(Int32, String, String, String)] = []
        for call in 0..<Int32.random(in: 1...12, using: &generator) {
            let keys = ["k0", "k1", "k2", "k3"].shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator))
            for key in keys {
                let amount = ["1", "2", "0.5", "7"].randomElement(using: &generator)!
                entries.append((call, key, amount, String(Int.random(in: -1...25, using: &generator))))
            }
        }
        entries.shuffle(using: &generator)
        var batch = Batch()
        for (call, key, amount, threshold) in entries {
            batch.calls.append(call)
            batch.keys.append(key)
            batch.amounts.append(amount)
            batch.thresholds.append(threshold)
            batch.windowEnds.append(4_102_444_800)
        }
        return batch
    }

    /// The rows `function` returns for `batch` on counts starting at `start`, and the counts it
    /// leaves; rolled back.
    static func outcome(
        of function: String, _ batch: Batch, start: [String], on connection: PostgresConnection
    ) async throws -> (rows: [String], counts: [String]) {
        let logger = connection.logger
        try await connection.query("BEGIN", logger: logger)
        try await connection.query("DELETE FROM warden_counter", logger: logger)
        for (index, amount) in start.enumerated() {
            try await connection.query(
                "INSERT INTO warden_counter (key, amount, window_end) VALUES (\("k\(index)"), \(amount)::numeric, 4102444800)", logger: logger)
        }
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT call_index, counter_key, counter_amount, refused FROM \(function)($1, $2, $3::text[]::numeric[], $4::text[]::numeric[], $5)
                    """,
                binds: {
                    var binds = PostgresBindings()
                    binds.append(batch.calls)
                    binds.append(batch.keys)
                    binds.append(batch.amounts)
                    binds.append(batch.thresholds)
                    binds.append(batch.windowEnds)
                    return binds
                }()), logger: logger
        ).collect().map { row in
            let (call, key, amount, refused) = try row.decode((Int32, String, String, Bool).self)
            return "\(call) \(key) \(amount) \(refused)"
        }
        let counts = try await connection.query("SELECT key, trim_scale(amount)::text FROM warden_counter ORDER BY key", logger: logger)
            .collect().map { row in
                let (key, amount) = try row.decode((String, String).self)
                return "\(key)=\(amount)"
            }
        try await connection.query("ROLLBACK", logger: logger)
        return (rows.sorted(), counts)
    }

    @Test func theOnePassFunctionDecidesAsVersionTwoDid() async throws {
        let store = try await TestPostgres.newStore()
        defer { Task { try await store.close() } }
        let versionTwo = PostgresSchema.version2[1].sql.replacing(
            "CREATE FUNCTION warden_reserve_batch(", with: "CREATE FUNCTION warden_reserve_batch_version_two(")
        try await store.database.query(PostgresQuery(unsafeSQL: versionTwo), "test")
        var generator = SeededGenerator(seed: 14)
        var refusedSome = 0
        try await store.database.client.withConnection { connection in
            for _ in 0..<60 {
                let batch = Self.batch(&generator)
                let start = (0..<4).map { _ in String(Int.random(in: 0...20, using: &generator)) }
                let onePass = try await Self.outcome(of: "warden_reserve_batch", batch, start: start, on: connection)
                let perCall = try await Self.outcome(of: "warden_reserve_batch_version_two", batch, start: start, on: connection)
                #expect(onePass.rows == perCall.rows, "batch \(batch), start \(start)")
                #expect(onePass.counts == perCall.counts, "batch \(batch), start \(start)")
                if onePass.rows.contains(where: { $0.hasSuffix("true") }) && onePass.rows.contains(where: { $0.hasSuffix("false") }) {
                    refusedSome += 1
                }
            }
        }
        // The batches tried mix allowed and refused calls, not only one or the other.
        #expect(refusedSome > 10)
    }
}
