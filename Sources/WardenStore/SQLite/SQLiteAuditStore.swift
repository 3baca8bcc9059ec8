import GRDB
import GRDBSQLite

/// The audit log in SQLite: appends run in immediate transactions, so processes sharing the
/// file keep one linear chain. Its checkpoints go in a head file beside the database.
///
/// A record finishing a call's intent keeps the intent's id in column `intent` (beside the
/// record, not hashed); once the append commits, the intent is marked finished in the journal.
public struct SQLiteAuditStore: AuditStore {
    let database: DatabasePool
    let journal: IntentJournal

    public var checkpointPath: String? { AuditCheckpoint.path(besideDatabase: database.path) }

    public var intents: (any CallIntentStore)? { SQLiteCallIntentStore(database: database, journal: journal) }

    @discardableResult
    public func append(_ records: [AuditRecord]) async throws -> AuditLog.Head? {
        guard !records.isEmpty else { return nil }
        let head = try await database.writeWithoutTransaction { db in
            var head = AuditLog.Head.empty
            try db.inTransaction(.immediate) {
                head = try Self.append(records, in: db)
                return .commit
            }
            return head
        }
        journal.finish(records.compactMap(\.intent))
        return head
    }

    /// Chains `records` after the newest entry and inserts them, inside the caller's
    /// immediate transaction; the new head.
    static func append(_ records: [AuditRecord], in db: Database) throws -> AuditLog.Head {
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
        let head = last.map { AuditLog.Head(sequence: $0["seq"], hash: $0["hash"]) } ?? .empty
        let rows = AuditLog.chain(records, after: head)
        let insert = try db.cachedStatement(
            sql: "INSERT INTO audit (seq, time, record, prev_hash, hash, tool, decision, identity, intent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for index in rows.indices {
            try insertRow(rows[index], intent: records[index].intent, with: insert)
        }
        return rows.last.map { AuditLog.Head(sequence: $0.sequence, hash: $0.hash) } ?? head
    }

    /// Inserts one chained row with the log's insert statement, its values bound directly
    /// (``Statement/execute(binding:)``). Runs in the caller's transaction, on the database's
    /// queue, like the statement's other uses.
    private static func insertRow(_ row: AuditLog.Row, intent: String?, with insert: Statement) throws {
        try insert.execute { statement in
            var code = row.sequence.bind(to: statement, at: 1)
            func bind(_ text: String?, at index: CInt) {
                guard code == SQLITE_OK else { return }
                code = text.map { $0.bindText(to: statement, at: index) } ?? sqlite3_bind_null(statement, index)
            }
            bind(row.time, at: 2)
            bind(row.recordText, at: 3)
            bind(row.previousHash, at: 4)
            bind(row.hash, at: 5)
            bind(row.tool, at: 6)
            bind(row.decision, at: 7)
            bind(row.identity, at: 8)
            bind(intent, at: 9)
            return code
        }
    }

    public func hash(of sequence: Int64) async throws -> String? {
        // A cached statement: the checkpoint writer asks after every flushed batch.
        try await database.read { db in try String.fetchOne(db.cachedStatement(sql: "SELECT hash FROM audit WHERE seq = ?"), arguments: [sequence]) }
    }

    public func entries(_ filter: AuditLog.Filter) async throws -> [AuditLog.Entry] {
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        // Filters read the hashed record itself, not the columns stored beside it, so an
        // edited column cannot hide an entry from a query (verify reports such an edit).
        if let tool = filter.tool {
            conditions.append("json_extract(record, '$.tool') = ?")
            arguments.append(tool.databaseValue)
        }
        if let decision = filter.decision {
            conditions.append("json_extract(record, '$.decision') = ?")
            arguments.append(decision.databaseValue)
        }
        if let identity = filter.identity {
            conditions.append("json_extract(record, '$.identity') = ?")
            arguments.append(identity.databaseValue)
        }
        if let time = filter.sinceText {
            // The indexed column narrows the scan; the record decides.
            conditions.append("time >= ? AND json_extract(record, '$.time') >= ?")
            arguments += [time.databaseValue, time.databaseValue]
        }
        if let after = filter.afterSequence {
            conditions.append("seq > ?")
            arguments.append(after.databaseValue)
        }
        var sql = "SELECT seq, time, record, prev_hash, hash, tool, decision, identity FROM audit"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq DESC"
        if let limit = filter.limit { sql += " LIMIT \(max(0, limit))" }
        let rows = try await database.read { [sql, arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.row)
        }
        return rows.reversed().compactMap(AuditLog.Entry.init)
    }

    public func verify(against checkpoints: [AuditCheckpoint]) async throws -> AuditLog.Verification {
        try await database.read { db in
            var verifier = AuditLog.Verifier(checkpoints: checkpoints)
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, time, record, prev_hash, hash, tool, decision, identity FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                if let broken = verifier.check(Self.row(row)) { return broken }
            }
            return verifier.finish()
        }
    }

    static func row(_ row: Row) -> AuditLog.Row {
        AuditLog.Row(
            sequence: row["seq"], time: row["time"], recordText: row["record"], previousHash: row["prev_hash"], hash: row["hash"],
            tool: row["tool"], decision: row["decision"], identity: row["identity"])
    }
}
