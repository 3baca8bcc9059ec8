public import Foundation
import GRDB
public import WardenJSON

/// The hash-chained audit log. Each entry's hash covers its sequence number, its record and
/// the previous entry's hash, so editing, deleting or reordering entries breaks the chain at
/// the first entry touched, and ``verify()`` names it.
public struct AuditLog: Sendable {
    let database: DatabasePool

    /// The hash before the first entry.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// A stored entry.
    public struct Entry: Sendable {
        /// The entry's place in the chain, from 1.
        public var sequence: Int64
        /// The decision recorded.
        public var record: AuditRecord
        /// The record's JSON text as stored.
        public var recordText: String
        /// The hash of the entry before it (zeros for the first).
        public var previousHash: String
        /// SHA-256 over the previous hash, the sequence number and the record text.
        public var hash: String

        /// The entry as a JSON object: sequence, hash, then the record's fields.
        public var json: JSONValue {
            var members: [JSONObject.Member] = [
                .init(key: "seq", value: .number(JSONNumber(Int(sequence)))),
                .init(key: "hash", value: .string(hash)),
            ]
            if case .object(let record) = record.json { members += record.members }
            return .object(JSONObject(members))
        }
    }

    /// What ``AuditLog/verify()`` found.
    public struct Verification: Sendable {
        /// How many entries were checked.
        public var checked: Int
        /// The first entry that does not fit the chain, and why; `nil` when the log is intact.
        public var firstBroken: (sequence: Int64, reason: String)?

        /// Whether every entry fits the chain.
        public var isIntact: Bool { firstBroken == nil }
    }

    /// Which entries to read.
    public struct Filter: Sendable {
        /// Only calls of this tool.
        public var tool: String?
        /// Only this decision (`allow`, `deny`, ...).
        public var decision: String?
        /// Only calls by this identity.
        public var identity: String?
        /// Only entries written at or after this time.
        public var since: Date?
        /// Only entries after this sequence number (for following).
        public var afterSequence: Int64?
        /// The most entries to return: the newest ones, returned oldest first.
        public var limit: Int?

        /// The time `text` names: `1h`, `30m`, `2d`, `45s` ago, or an ISO 8601 time; `nil` if neither.
        public static func since(_ text: String, now: Date = Date()) -> Date? {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            if let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count >= 0 {
                return now.addingTimeInterval(-count * unit)
            }
            return try? Date(text, strategy: .iso8601)
        }

        public init(tool: String? = nil, decision: String? = nil, identity: String? = nil, since: Date? = nil, afterSequence: Int64? = nil, limit: Int? = nil) {
            self.tool = tool
            self.decision = decision
            self.identity = identity
            self.since = since
            self.afterSequence = afterSequence
            self.limit = limit
        }
    }

    /// The hash of an entry.
    static func hash(sequence: Int64, recordText: String, previousHash: String) -> String {
        Digest.sha256(Array("\(previousHash)\n\(sequence)\n\(recordText)".utf8))
    }

    /// Appends records, in order, in one transaction.
    public func append(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        try await database.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
                var sequence: Int64 = last?["seq"] ?? 0
                var previousHash: String = last?["hash"] ?? Self.genesisHash
                let insert = try db.cachedStatement(
                    sql: "INSERT INTO audit (seq, time, record, prev_hash, hash, tool, decision, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                for record in records {
                    sequence += 1
                    let text = JSONWriter.write(record.json)
                    let hash = Self.hash(sequence: sequence, recordText: text, previousHash: previousHash)
                    try insert.execute(arguments: [
                        sequence, Timestamp.text(of: record.time), text, previousHash, hash, record.tool, record.decision, record.identity,
                    ])
                    previousHash = hash
                }
                return .commit
            }
        }
    }

    /// Entries matching `filter`, oldest first.
    public func entries(_ filter: Filter = Filter()) async throws -> [Entry] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let tool = filter.tool {
            conditions.append("tool = ?")
            arguments += [tool]
        }
        if let decision = filter.decision {
            conditions.append("decision = ?")
            arguments += [decision]
        }
        if let identity = filter.identity {
            conditions.append("identity = ?")
            arguments += [identity]
        }
        if let since = filter.since {
            conditions.append("time >= ?")
            arguments += [since.formatted(AuditRecord.timeFormat)]
        }
        if let after = filter.afterSequence {
            conditions.append("seq > ?")
            arguments += [after]
        }
        var sql = "SELECT seq, record, prev_hash, hash FROM audit"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq DESC"
        if let limit = filter.limit { sql += " LIMIT \(max(0, limit))" }
        let rows = try database.read { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
        return rows.reversed().compactMap(Self.entry)
    }

    /// Walks the whole chain and reports the first entry that does not fit.
    public func verify() async throws -> Verification {
        try await database.read { db in
            var checked = 0
            var previousHash = Self.genesisHash
            var expectedSequence: Int64 = 1
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, record, prev_hash, hash FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                let sequence: Int64 = row["seq"]
                let text: String = row["record"]
                let storedPrevious: String = row["prev_hash"]
                let storedHash: String = row["hash"]
                checked += 1
                if sequence != expectedSequence {
                    return Verification(checked: checked, firstBroken: (sequence, "entry \(expectedSequence) is missing"))
                }
                if storedPrevious != previousHash {
                    return Verification(checked: checked, firstBroken: (sequence, "its previous hash does not match the entry before it"))
                }
                if Self.hash(sequence: sequence, recordText: text, previousHash: previousHash) != storedHash {
                    return Verification(checked: checked, firstBroken: (sequence, "its content does not match its hash"))
                }
                previousHash = storedHash
                expectedSequence += 1
            }
            return Verification(checked: checked, firstBroken: nil)
        }
    }

    private static func entry(_ row: Row) -> Entry? {
        let text: String = row["record"]
        guard let value = try? JSONReader.parse(text), let record = AuditRecord(json: value) else { return nil }
        return Entry(sequence: row["seq"], record: record, recordText: text, previousHash: row["prev_hash"], hash: row["hash"])
    }
}
