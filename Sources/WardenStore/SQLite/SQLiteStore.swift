public import Foundation
import GRDB
public import WardenPolicy

/// Warden's embedded state: counters, the audit log, grants, approvals and admin tokens, in
/// one SQLite file (WAL mode).
///
/// Several `warden` processes may share one file: counter reservations and audit appends
/// run in immediate transactions, so counts stay exact and the audit chain stays linear.
///
/// ```swift
/// let store = try SQLiteStore(path: "warden.db")
/// let ledger = store.counters
/// ```
public final class SQLiteStore: StateStore {
    /// The database.
    let database: DatabasePool
    let ledger: SQLiteCounterLedger
    /// The intents of calls in flight, in files beside the database.
    let journal: IntentJournal
    /// Keeps the ledger's swaps from starting the log over (its connections' WAL hook).
    let logRestarts = LogRestartGate()
    private let decodedGrants = DecodedGrants()
    private let grantCache: GrantCache

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public convenience init(path: String) throws {
        try self.init(path: path, grantTrust: .seconds(1))
    }

    /// - Parameter grantTrust: How long a token's grant is kept at most (``GrantCache``).
    init(path: String, grantTrust: Duration) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let logRestarts = logRestarts
        database = try Self.open(path: path, configuration: Self.connectionConfiguration { db in logRestarts.watch(db) })
        try Self.migrate(database)
        // Without its own connection (it could not be opened) the ledger swaps on the writer.
        ledger = SQLiteCounterLedger(database: database, swapConnection: try? CounterSwapConnection(path: path, gate: logRestarts))
        journal = IntentJournal(besideDatabase: path)
        grantCache = GrantCache(signal: GrantStamp(besideDatabase: path), longestTrust: grantTrust)
    }

    public func checkReadable() async throws {
        _ = try await database.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func close() async throws {
        journal.closeFiles()
        defer { ledger.close() }
        try database.close()
    }

    /// The counter ledger (a ``SQLiteCounterLedger``).
    public var counters: any CounterLedger { ledger }

    public var audit: any AuditStore { SQLiteAuditStore(database: database, journal: journal) }

    /// The write-ahead records of calls being forwarded (also ``AuditStore/intents``).
    public var intents: any CallIntentStore { SQLiteCallIntentStore(database: database, journal: journal) }

    public var grants: any GrantStore { SQLiteGrantStore(database: database, decoded: decodedGrants, cache: grantCache) }

    public var approvals: any ApprovalStore { SQLiteApprovalStore(database: database) }

    public var adminTokens: any AdminTokenStore { SQLiteAdminTokenStore(database: database) }

    /// The default database path: `$XDG_STATE_HOME/warden/warden.db`, else `~/.local/state/warden/warden.db`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty {
            return state + "/warden/warden.db"
        }
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return home + "/.local/state/warden/warden.db"
    }

    /// How every connection to the file is set up (the pool's and the ledger's swap
    /// connection's), then `prepare`d further.
    static func connectionConfiguration(_ prepare: @escaping @Sendable (Database) throws -> Void) -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = SQLiteBusyWait.mode
        configuration.prepareDatabase { db in
            // WAL without a sync on every commit: a crash of the machine (not of Warden) may
            // lose the last transactions, never corrupt the file.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try prepare(db)
        }
        return configuration
    }

    /// Opens the pool. Switching a new file to WAL takes a lock that SQLite's busy timeout
    /// does not wait for, so processes opening one new file together retry for a while.
    private static func open(path: String, configuration: Configuration) throws -> DatabasePool {
        var attempts = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempts < 100 {
                attempts += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }

    /// Brings the schema up to date. Processes that start together on a new file race to do
    /// it; GRDB checks what is done before each step's transaction, so a loser fails on a
    /// table the winner just made, and looks again to find the work done.
    private static func migrate(_ database: DatabasePool) throws {
        for attempt in 1... {
            do {
                try migrator.migrate(database)
                return
            } catch {
                if try database.read(migrator.hasCompletedMigrations) { return }
                if attempt == 5 { throw error }
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "counter") { table in
                table.primaryKey("key", .text)
                table.column("amount", .text).notNull()
                table.column("window_end", .integer).notNull().indexed()
            }
            try db.create(table: "audit") { table in
                table.primaryKey("seq", .integer)
                table.column("time", .text).notNull()
                table.column("record", .text).notNull()
                table.column("prev_hash", .text).notNull()
                table.column("hash", .text).notNull()
                table.column("tool", .text)
                table.column("decision", .text).notNull()
                table.column("identity", .text).notNull()
            }
            try db.create(index: "audit_time", on: "audit", columns: ["time"])
        }
        migrator.registerMigration("v2-grants") { db in
            try db.create(table: "grant") { table in
                table.primaryKey("id", .text)
                table.column("label", .text).notNull()
                table.column("token_hash", .text).notNull().unique()
                table.column("servers", .text).notNull()
                table.column("policy", .text).notNull()
                table.column("identity", .text).notNull()
                table.column("identity_labels", .text).notNull()
                table.column("created_at", .text).notNull()
                table.column("rotated_at", .text)
                table.column("revoked_at", .text)
            }
        }
        migrator.registerMigration("v3-approvals") { db in
            try db.create(table: "approval") { table in
                table.primaryKey("id", .text)
                table.column("server", .text).notNull()
                table.column("tool", .text).notNull()
                table.column("identity", .text).notNull()
                table.column("grant_id", .text)
                table.column("session", .text).notNull()
                table.column("request_id", .text).notNull()
                table.column("arguments", .text).notNull()
                table.column("rule", .text).notNull()
                table.column("message", .text).notNull()
                table.column("approvers", .text).notNull()
                table.column("holder", .text).notNull()
                table.column("created_at", .text).notNull()
                table.column("expires_at", .text).notNull()
                table.column("status", .text).notNull().indexed()
                table.column("decided_by", .text)
                table.column("reason", .text)
                table.column("decided_at", .text)
            }
            try db.create(table: "admin_token") { table in
                table.primaryKey("id", .text)
                table.column("name", .text).notNull()
                table.column("role", .text).notNull()
                table.column("token_hash", .text).notNull().unique()
                table.column("created_at", .text).notNull()
                table.column("revoked_at", .text)
            }
        }
        migrator.registerMigration("v4-approval-decider-token") { db in
            // The admin token that decided an approval: an approved call does not run once that
            // token is revoked.
            try db.alter(table: "approval") { table in table.add(column: "decided_by_token", .text) }
        }
        migrator.registerMigration("v5-call-intents") { db in
            // The write-ahead records of calls being forwarded (`CallIntent`), deleted with
            // their call's audit record; what is left after a crash is recovered as interrupted.
            try db.create(table: "call_intent") { table in
                table.primaryKey("id", .text)
                table.column("instance", .text)
                table.column("holder", .text).notNull()
                table.column("process", .text).notNull()
                table.column("time", .text).notNull()
                table.column("record", .text).notNull()
            }
        }
        migrator.registerMigration("v6-intent-journal") { db in
            // Intents moved to append-only files beside the database (`IntentJournal`): a
            // record finishing one keeps its id here. Intents an older Warden left in its table
            // are recovered as interrupted: stop every older Warden on this file before upgrading.
            try db.alter(table: "audit") { table in table.add(column: "intent", .text) }
            let left = try Row.fetchAll(db, sql: "SELECT id, instance, holder, process, time, record FROM call_intent ORDER BY time, id").map { row in
                CallIntent(
                    id: row["id"], recordText: row["record"], instance: row["instance"], holder: row["holder"], process: row["process"],
                    time: row["time"])
            }
            let now = Date()
            _ = try SQLiteAuditStore.append(left.map { $0.interruptedRecord(recoveredAt: now) }, in: db)
            try db.drop(table: "call_intent")
        }
        return migrator
    }
}
