import Logging
import PostgresNIO
import Synchronization

/// The audit log in PostgreSQL: one chain for every instance sharing the database, its
/// records and hashes byte for byte those of ``SQLiteAuditStore`` (both chain with
/// ``AuditLog/chain(_:after:)``).
///
/// An append is, as a rule, one statement: the records chained after the head this store
/// last wrote or saw, inserted only if that is still the newest entry. Sequence numbers are
/// the primary key, so two appends after one head cannot both land: the loser (or an append
/// after a stale head) takes the chain's advisory lock, reads the head and appends after it,
/// in a transaction. The chain never forks, whatever the number of instances.
public final class PostgresAuditStore: AuditStore {
    let database: PostgresDatabase
    /// The write-ahead records of calls being forwarded, which appends delete.
    let intentStore: PostgresCallIntentStore
    /// The head as this store last wrote or read it; `nil` before the first append.
    private let knownHead = Mutex<AuditLog.Head?>(nil)

    /// The key of the advisory lock appends after a contested head hold.
    static let appendLock: Int64 = 0x5741_5244_454E_0002

    init(database: PostgresDatabase) {
        self.database = database
        intentStore = PostgresCallIntentStore(database: database)
    }

    public var intents: (any CallIntentStore)? { intentStore }

    /// None: the chain's head lives in the shared database, which every instance appends to.
    public var checkpointPath: String? { nil }

    @discardableResult
    public func append(_ records: [AuditRecord]) async throws -> AuditLog.Head? {
        guard !records.isEmpty else { return nil }
        let intents = records.compactMap(\.intent)
        if let head = knownHead.withLock({ $0 }) {
            let rows = AuditLog.chain(records, after: head)
            if try await appendIfHead(is: head, rows, finishing: intents) { return remember(rows) }
        }
        let logger = database.logger
        let head = try await database.transaction("appending to the audit log", retryingConflicts: true) { connection in
            let head = try await Self.appendAfterNewest(records, on: connection, logger: logger)
            if !intents.isEmpty {
                try await connection.query("DELETE FROM warden_call_intent WHERE id = ANY(\(intents))", logger: logger)
            }
            return head
        }
        knownHead.withLock { $0 = head }
        return head
    }

    /// Chains `records` after the newest entry and inserts them, in the caller's transaction,
    /// under the chain's advisory lock (taken here unless the caller holds it: ``lockChain(on:logger:)``);
    /// the new head.
    static func appendAfterNewest(_ records: [AuditRecord], on connection: PostgresConnection, logger: Logger) async throws -> AuditLog.Head {
        try await lockChain(on: connection, logger: logger)
        let last = try await connection.query("SELECT seq, hash FROM warden_audit ORDER BY seq DESC LIMIT 1", logger: logger)
            .collect().first?.decode((Int64, String).self)
        let rows = AuditLog.chain(records, after: last.map { AuditLog.Head(sequence: $0.0, hash: $0.1) } ?? .empty)
        try await connection.query(Self.insert(rows), logger: logger)
        return rows.last.map { AuditLog.Head(sequence: $0.sequence, hash: $0.hash) } ?? .empty
    }

    /// Takes the chain's advisory lock for the caller's transaction (again is a no-op). Its row
    /// is read, so that an error while waiting (a deadlock PostgreSQL broke) is thrown here.
    static func lockChain(on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.appendLock))", logger: logger).collect()
    }

    /// Inserts `rows`, and deletes the intents `finished`, in one statement if `head` is still
    /// the newest entry; whether it was.
    private func appendIfHead(is head: AuditLog.Head, _ rows: [AuditLog.Row], finishing finished: [String]) async throws -> Bool {
        var query = Self.insert(rows)
        let stillHead: String
        if head.sequence == 0 {
            stillHead = "NOT EXISTS (SELECT 1 FROM warden_audit)"
        } else {
            stillHead = "(SELECT hash FROM warden_audit WHERE seq = $10) = $11 AND NOT EXISTS (SELECT 1 FROM warden_audit WHERE seq > $10)"
            query.binds.append(head.sequence)
            query.binds.append(head.hash)
        }
        if !finished.isEmpty {
            // Every part of a statement sees one snapshot: the intents go only if the rows do.
            query.binds.append(finished)
            query.sql = "WITH finished AS (DELETE FROM warden_call_intent WHERE id = ANY($\(query.binds.count)) AND \(stillHead)) " + query.sql
        }
        query.sql += " WHERE \(stillHead) RETURNING seq"
        return try await database.bounded("appending to the audit log") { [query, logger = database.logger] client in
            do {
                return try await client.query(query, logger: logger).collect().count == rows.count
            } catch where PostgresFailure(error).isUniqueViolation {
                return false  // another instance appended after this head first
            }
        }
    }

    /// An insert of `rows`, as arrays unnested in one statement (nine parameters).
    private static func insert(_ rows: [AuditLog.Row]) -> PostgresQuery {
        let sequences = rows.map(\.sequence)
        let times = rows.map(\.time)
        let records = rows.map(\.recordText)
        let previous = rows.map(\.previousHash)
        let hashes = rows.map(\.hash)
        let hasTool = rows.map { $0.tool != nil }
        let tools = rows.map { $0.tool ?? "" }
        let decisions = rows.map(\.decision)
        let identities = rows.map(\.identity)
        return """
            INSERT INTO warden_audit (seq, time, record, prev_hash, hash, tool, decision, identity)
            SELECT s, t, r, p, h, CASE WHEN has_tool THEN tool END, d, i FROM unnest(
                \(sequences)::bigint[], \(times)::text[], \(records)::text[], \(previous)::text[], \(hashes)::text[],
                \(hasTool)::boolean[], \(tools)::text[], \(decisions)::text[], \(identities)::text[]
            ) AS u(s, t, r, p, h, has_tool, tool, d, i)
            """
    }

    private func remember(_ rows: [AuditLog.Row]) -> AuditLog.Head? {
        guard let newest = rows.last else { return nil }
        let head = AuditLog.Head(sequence: newest.sequence, hash: newest.hash)
        knownHead.withLock { $0 = head }
        return head
    }

    public func hash(of sequence: Int64) async throws -> String? {
        try await database.query("SELECT hash FROM warden_audit WHERE seq = \(sequence)", "reading the audit log")
            .first?.decode(String.self)
    }

    public func entries(_ filter: AuditLog.Filter) async throws -> [AuditLog.Entry] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bind(_ value: String) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        // Filters read the hashed record itself, not the columns stored beside it, so an
        // edited column cannot hide an entry from a query (verify reports such an edit).
        if let tool = filter.tool { conditions.append("record::jsonb ->> 'tool' = \(bind(tool))") }
        if let decision = filter.decision { conditions.append("record::jsonb ->> 'decision' = \(bind(decision))") }
        if let identity = filter.identity { conditions.append("record::jsonb ->> 'identity' = \(bind(identity))") }
        if let time = filter.sinceText {
            // The indexed column narrows the scan; the record decides.
            let placeholder = bind(time)
            conditions.append("time >= \(placeholder) AND (record::jsonb ->> 'time') COLLATE \"C\" >= \(placeholder)")
        }
        if let after = filter.afterSequence {
            binds.append(after)
            conditions.append("seq > $\(binds.count)")
        }
        var sql = "SELECT \(Self.columns) FROM warden_audit"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq DESC"
        if let limit = filter.limit { sql += " LIMIT \(max(0, limit))" }
        let rows = try await database.query(PostgresQuery(unsafeSQL: sql, binds: binds), "reading the audit log")
        return try rows.reversed().map(Self.row).compactMap(AuditLog.Entry.init)
    }

    public func verify(against checkpoints: [AuditCheckpoint]) async throws -> AuditLog.Verification {
        try await database.bounded("verifying the audit log") { client in
            var verifier = AuditLog.Verifier(checkpoints: checkpoints)
            for try await row in try await client.query("SELECT \(unescaped: Self.columns) FROM warden_audit ORDER BY seq") {
                if let broken = verifier.check(try Self.row(row)) { return broken }
            }
            return verifier.finish()
        }
    }

    /// The columns of an entry, in the order ``row(_:)`` reads them.
    static let columns = "seq, time, record, prev_hash, hash, tool, decision, identity"

    static func row(_ row: PostgresRow) throws -> AuditLog.Row {
        let (sequence, time, record, previous, hash, tool, decision, identity) = try row.decode(
            (Int64, String, String, String, String, String?, String, String).self)
        return AuditLog.Row(
            sequence: sequence, time: time, recordText: record, previousHash: previous, hash: hash, tool: tool, decision: decision,
            identity: identity)
    }
}
