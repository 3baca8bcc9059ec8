import Foundation
import Logging
import PostgresNIO
import Testing
import WardenPolicy

@testable import WardenStore

/// A database an older Warden made is brought up to this version in place.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresSchemaUpgradeTests {
    @Test func aVersionTwoDatabaseIsUpgradedInPlaceKeepingItsCountsAndLog() async throws {
        let configuration = try await TestPostgres.newDatabase()
        // What warden of schema version 2 left: its tables, a count, an audit entry.
        let client = PostgresClient(configuration: try PostgresStore.clientConfiguration(configuration))
        let limit = reservation(max: 5)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            for statement in PostgresSchema.migrations[0..<2].joined() { try await client.query(statement) }
            try await client.query("CREATE TABLE warden_schema (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), version integer NOT NULL)")
            try await client.query("INSERT INTO warden_schema (version) VALUES (2)")
            try await client.query(
                "INSERT INTO warden_counter (key, amount, window_end) VALUES (\(limit.key.description), 3, \(limit.key.windowEnd))")
            group.cancelAll()
        }
        let store = try await PostgresStore.open(configuration)
        try await store.audit.append([CallIntentConformanceTests.draft("before")])
        let version = try await store.database.query("SELECT version FROM warden_schema", "test").first?.decode(Int.self)
        #expect(version == PostgresSchema.currentVersion)
        let overloads = try await store.database.query(
            "SELECT count(*)::int FROM pg_proc WHERE proname = 'warden_reserve_batch'", "test").first?.decode(Int.self)
        #expect(overloads == 2, "the version-2 function stays for instances not upgraded yet")

        let pending = CallIntent.Pending(CallIntentConformanceTests.intent("after"))
        #expect(try await CallIntent.$withReservation.withValue(pending) { try await store.counters.reserve([limit, limit]) } == nil)
        #expect(pending.isWritten)
        #expect(try await store.counters.reserve([limit]) == limit, "the count of version 2 is kept: 3 + 2 = 5")
        let intents = try #require(store.audit.intents)
        #expect(try await intents.intents(CallIntent.Selection(decidedBefore: .distantFuture)).map(\.id) == [pending.intent.id])
        var final = pending.intent.record
        final.upstreamStatus = "ok"
        final.intent = pending.intent.id
        try await store.audit.append([final])
        #expect(try await store.audit.entries().map(\.record.tool) == ["before", "after"])
        #expect(try await store.audit.verify().isIntact)
        #expect(try await intents.intents(CallIntent.Selection(decidedBefore: .distantFuture)).isEmpty)
        try await store.close()
    }
}
