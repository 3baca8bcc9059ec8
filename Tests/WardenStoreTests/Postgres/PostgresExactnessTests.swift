import Foundation
import Testing
import WardenJSON
import WardenPolicy

@testable import WardenStore

/// Counts and the audit chain stay exact when two instances (two stores, two pools) on one
/// database work at once, with real parallelism.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresExactnessTests {
    /// Two stores on one new database, as two gateway instances. The bound on an operation is
    /// generous: a thousand calls at once queue for connections, and exactness is the subject.
    func twoInstances() async throws -> [PostgresStore] {
        let configuration = try await TestPostgres.newDatabase(poolSize: 8, queryTimeout: .seconds(60))
        return [try await PostgresStore.open(configuration), try await PostgresStore.open(configuration)]
    }

    func close(_ stores: [PostgresStore]) async throws {
        for store in stores { try await store.close() }
    }

    /// Runs `calls` reservations, alternating between the stores, all at once; the indexes of
    /// those allowed.
    func race(_ calls: Int, on stores: [PostgresStore], _ reservations: @escaping @Sendable (Int) -> [CounterReservation]) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int?.self) { group in
            for call in 0..<calls {
                let ledger = stores[call % stores.count].counters
                group.addTask { try await ledger.reserve(reservations(call)) == nil ? call : nil }
            }
            return try await group.reduce(into: []) { allowed, call in if let call { allowed.append(call) } }
        }
    }

    /// The count of `key` as a fresh store reads it from the database.
    func count(_ key: CounterKey, in stores: [PostgresStore]) async throws -> CounterAmount {
        try await stores[0].ledger.amounts(of: [key]).first?.1 ?? .zero
    }

    @Test func aCallLimitIsExactAcrossTwoInstances() async throws {
        let stores = try await twoInstances()
        let limit = reservation("calls", max: 100)
        let allowed = try await race(1000, on: stores) { _ in [limit] }
        #expect(allowed.count == 100)
        #expect(try await count(limit.key, in: stores) == 100)
        try await close(stores)
    }

    @Test func aValueBudgetIsExactAcrossTwoInstances() async throws {
        let stores = try await twoInstances()
        let amounts = (0..<1000).map { CounterAmount(Int64($0 % 9 + 1)) }
        let budget = { @Sendable (call: Int) in reservation("spend", amount: amounts[call], max: 1000) }
        let allowed = try await race(1000, on: stores) { [budget($0)] }
        let total = try await count(budget(0).key, in: stores)
        #expect(total == allowed.reduce(CounterAmount.zero) { $0 + amounts[$1] }, "the count is the sum of what was allowed")
        #expect(total <= 1000)
        // Counts only grow, so every refused amount would still not fit.
        let refused = Set(0..<1000).subtracting(allowed)
        #expect(refused.allSatisfy { total + amounts[$0] > 1000 })
        try await close(stores)
    }

    @Test func aCallCountingAgainstSeveralLimitsIsAllOrNothing() async throws {
        let stores = try await twoInstances()
        let perGrant = reservation("per_grant", max: 100)
        let perServer = reservation("per_server", max: 60)
        let spend = reservation("spend", amount: 3, max: 240)
        let allowed = try await race(1000, on: stores) { _ in [perGrant, perServer, spend] }
        #expect(allowed.count == 60)
        #expect(try await count(perGrant.key, in: stores) == 60, "no limit is counted for a refused call")
        #expect(try await count(perServer.key, in: stores) == 60)
        #expect(try await count(spend.key, in: stores) == 180)
        try await close(stores)
    }

    @Test func rollBacksGiveBackExactly() async throws {
        let stores = try await twoInstances()
        let limit = reservation("calls", max: 100)
        #expect(try await race(300, on: stores) { _ in [limit] }.count == 100)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in 0..<40 {
                let ledger = stores[call % 2].counters
                group.addTask { try await ledger.rollBack([limit]) }
            }
            try await group.waitForAll()
        }
        #expect(try await count(limit.key, in: stores) == 60)
        #expect(try await race(300, on: stores) { _ in [limit] }.count == 40)
        #expect(try await count(limit.key, in: stores) == 100)
        try await close(stores)
    }

    @Test func auditAppendsFromTwoInstancesMakeOneChain() async throws {
        let stores = try await twoInstances()
        let batches = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in 0..<batches {
                let audit = stores[batch % 2].audit
                group.addTask {
                    try await audit.append((0...(batch % 3)).map { auditRecord("tool_\(batch)_\($0)") })
                }
            }
            try await group.waitForAll()
        }
        let expected = (0..<batches).reduce(0) { $0 + $1 % 3 + 1 }
        let entries = try await stores[1].audit.entries()
        #expect(entries.map(\.sequence) == Array(1...Int64(expected)), "no gaps, no forks")
        let verified = try await stores[0].audit.verify()
        #expect(verified.isIntact)
        #expect(verified.checked == expected)
        // Each batch stays in one piece, in order.
        for batch in 0..<batches {
            let positions = entries.indices.filter { entries[$0].record.tool?.hasPrefix("tool_\(batch)_") == true }
            #expect(positions == Array((positions.first ?? 0)..<(positions.first ?? 0) + batch % 3 + 1))
        }
        try await close(stores)
    }

    @Test func recordsAndHashesAreByteForByteThoseOfSQLite() async throws {
        let postgres = try await TestPostgres.newStore()
        let sqlite = try SQLiteStore(path: temporaryDatabasePath())
        let time = Date(timeIntervalSince1970: 1_790_000_000.123)
        let records = (1...5).map { auditRecord("tool_\($0)", at: time) }
        try await postgres.audit.append(Array(records[..<2]))
        try await postgres.audit.append(Array(records[2...]))
        try await sqlite.audit.append(records)
        let fromPostgres = try await postgres.audit.entries()
        let fromSQLite = try await sqlite.audit.entries()
        #expect(fromPostgres.map(\.recordText) == fromSQLite.map(\.recordText))
        #expect(fromPostgres.map(\.hash) == fromSQLite.map(\.hash))
        try await postgres.close()
    }
}

/// An audit record of a call to `tool`.
func auditRecord(_ tool: String, at time: Date = Date()) -> AuditRecord {
    AuditRecord(
        time: time, requestID: "1", identity: "alice", session: "s", server: "srv", method: "tools/call", tool: tool,
        decision: "allow", rule: "/tools/\(tool)", message: "allowed", argumentKeys: ["a"],
        argumentsHash: Digest.canonical(["a": 1]), upstreamStatus: "ok", latencyMilliseconds: 1.5, policyHash: "p")
}
