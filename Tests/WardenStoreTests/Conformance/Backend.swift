import GRDB
import PostgresNIO
import Testing
import WardenTesting

@testable import WardenStore

/// A store backend the conformance suite runs every behaviour against: how to open an empty
/// store, and how to change its audit rows behind its back. Another backend is one more
/// value here, added to ``all``.
struct Backend: Sendable, CustomTestStringConvertible {
    var name: String
    /// Opens a new, empty store.
    var open: @Sendable () async throws -> any StateStore
    /// Rewrites the store's audit rows, as someone with write access to the store could.
    var tamperWithAudit: @Sendable (any StateStore, @Sendable (inout [AuditLog.Row]) -> Void) async throws -> Void

    var testDescription: String { name }

    /// Every backend; PostgreSQL when a test cluster is there (``TestPostgres``).
    static let all: [Backend] = [.sqlite, .inMemory] + (TestPostgres.isAvailable ? [.postgres] : [])

    /// The backends that outlive their process, and so keep ``CallIntent``s (the in-memory
    /// store has none: a crash loses it whole).
    static let durable: [Backend] = [.sqlite, .inMemoryKeepingIntents] + (TestPostgres.isAvailable ? [.postgres] : [])

    static let sqlite = Backend(
        name: "SQLite",
        open: { try await StoreConfiguration.sqlite(path: temporaryDatabasePath()).open() },
        tamperWithAudit: { store, change in
            try await (store as! SQLiteStore).database.write { db in
                var rows = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY seq").map(SQLiteAuditStore.row)
                change(&rows)
                try db.execute(sql: "DELETE FROM audit")
                for row in rows {
                    try db.execute(
                        sql: "INSERT INTO audit (seq, time, record, prev_hash, hash, tool, decision, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        arguments: [row.sequence, row.time, row.recordText, row.previousHash, row.hash, row.tool, row.decision, row.identity])
                }
            }
        })

    static let postgres = Backend(
        name: "PostgreSQL",
        open: { try await TestPostgres.newStore() },
        tamperWithAudit: { store, change in
            let database = (store as! PostgresStore).database
            var rows = try await database.query(
                "SELECT \(unescaped: PostgresAuditStore.columns) FROM warden_audit ORDER BY seq", "tampering"
            ).map(PostgresAuditStore.row)
            change(&rows)
            try await database.query("DELETE FROM warden_audit", "tampering")
            for row in rows {
                try await database.query(
                    """
                    INSERT INTO warden_audit (seq, time, record, prev_hash, hash, tool, decision, identity)
                    VALUES (\(row.sequence), \(row.time), \(row.recordText), \(row.previousHash), \(row.hash), \(row.tool),
                        \(row.decision), \(row.identity))
                    """, "tampering")
            }
        })

    static let inMemory = Backend(
        name: "in-memory",
        open: { InMemoryStore() },
        tamperWithAudit: { store, change in (store as! InMemoryStore).tamperWithAudit(change) })

    /// The in-memory store as the pipeline's tests use it to see intents written.
    static let inMemoryKeepingIntents = Backend(
        name: "in-memory, keeping intents",
        open: { InMemoryStore(keepsIntents: true) },
        tamperWithAudit: { store, change in (store as! InMemoryStore).tamperWithAudit(change) })
}
