public import Foundation
import GRDB
public import WardenJSON

/// The hash-chained audit log. Each entry's hash covers its sequence number, its record and
/// the previous entry's hash, so editing, deleting or reordering entries breaks the chain at
/// the first entry touched, and ``verify(against:)`` names it. Checkpoints of the head kept
/// outside the database (``AuditCheckpoint``) also reveal a cut of the newest entries.
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

    /// The newest entry of the chain: its sequence number and hash.
    public struct Head: Sendable, Equatable {
        /// The entry's sequence number (0 for an empty log).
        public var sequence: Int64
        /// The entry's hash (``AuditLog/genesisHash`` for an empty log).
        public var hash: String

        public init(sequence: Int64, hash: String) {
            self.sequence = sequence
            self.hash = hash
        }
    }

    /// What ``AuditLog/verify(against:)`` found.
    public struct Verification: Sendable {
        /// How many entries were checked.
        public var checked: Int
        /// The first entry that does not fit the chain, its stored columns or a checkpoint,
        /// and why; `nil` when the log is intact.
        public var firstBroken: Problem?
        /// The newest entry of the chain as walked (when the log is intact, its head).
        public var head: Head

        /// Whether every entry fits the chain.
        public var isIntact: Bool { firstBroken == nil }
    }

    /// An entry that does not fit.
    public struct Problem: Sendable {
        /// The entry: the first one edited, deleted, reordered or missing.
        public var sequence: Int64
        /// Why, in words.
        public var reason: String
        /// The stored column that disagrees with the entry's hashed record, if that is the problem.
        public var column: String?
        /// The checkpoint the log contradicts, if that is the problem.
        public var checkpoint: AuditCheckpoint?
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

    /// Appends records, in order, in one transaction, and returns the chain's new head.
    @discardableResult
    public func append(_ records: [AuditRecord]) async throws -> Head? {
        guard !records.isEmpty else { return nil }
        return try await database.writeWithoutTransaction { db in
            var head = Head(sequence: 0, hash: Self.genesisHash)
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
                head = Head(sequence: sequence, hash: previousHash)
                return .commit
            }
            return head
        }
    }

    /// The hash of entry `sequence`, or `nil` if the log has no such entry.
    func hash(of sequence: Int64) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [sequence]) }
    }

    /// Entries matching `filter`, oldest first.
    public func entries(_ filter: Filter = Filter()) async throws -> [Entry] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        // Filters read the hashed record itself, not the columns stored beside it, so an
        // edited column cannot hide an entry from a query (verify reports such an edit).
        if let tool = filter.tool {
            conditions.append("json_extract(record, '$.tool') = ?")
            arguments += [tool]
        }
        if let decision = filter.decision {
            conditions.append("json_extract(record, '$.decision') = ?")
            arguments += [decision]
        }
        if let identity = filter.identity {
            conditions.append("json_extract(record, '$.identity') = ?")
            arguments += [identity]
        }
        if let since = filter.since {
            // The indexed column narrows the scan; the record decides.
            let time = since.formatted(AuditRecord.timeFormat)
            conditions.append("time >= ? AND json_extract(record, '$.time') >= ?")
            arguments += [time, time]
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

    /// Walks the whole chain and reports the first entry that does not fit: one edited,
    /// deleted or reordered (its hash or link is wrong), one whose stored columns (`time`,
    /// `tool`, `decision`, `identity`, which queries narrow by) disagree with its hashed
    /// record, and then, against each checkpoint, a chain that ends before the checkpoint's
    /// entry (a cut tail) or holds another hash there (a rewritten log).
    ///
    /// Read the checkpoints before calling: the log only grows meanwhile, never shrinks.
    public func verify(against checkpoints: [AuditCheckpoint] = []) async throws -> Verification {
        let checkpoints = checkpoints.sorted { $0.sequence < $1.sequence }
        let recorded = Dictionary(checkpoints.map { ($0.sequence, $0) }, uniquingKeysWith: { first, _ in first })
        return try await database.read { db in
            var checked = 0
            var previousHash = Self.genesisHash
            var expectedSequence: Int64 = 1
            func broken(_ sequence: Int64, _ reason: String, column: String? = nil, checkpoint: AuditCheckpoint? = nil) -> Verification {
                Verification(
                    checked: checked, firstBroken: Problem(sequence: sequence, reason: reason, column: column, checkpoint: checkpoint),
                    head: Head(sequence: expectedSequence - 1, hash: previousHash))
            }
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, time, record, prev_hash, hash, tool, decision, identity FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                let sequence: Int64 = row["seq"]
                let text: String = row["record"]
                let storedPrevious: String = row["prev_hash"]
                let storedHash: String = row["hash"]
                checked += 1
                if sequence != expectedSequence {
                    return broken(sequence, "entry \(expectedSequence) is missing")
                }
                if storedPrevious != previousHash {
                    return broken(sequence, "its previous hash does not match the entry before it")
                }
                if Self.hash(sequence: sequence, recordText: text, previousHash: previousHash) != storedHash {
                    return broken(sequence, "its content does not match its hash")
                }
                guard let record = try? JSONReader.parse(text), case .object = record else {
                    return broken(sequence, "its record is not a JSON object")
                }
                for column in Self.copiedColumns {
                    let stored: String? = row[column]
                    let hashed = record[column]?.stringValue
                    if stored != hashed {
                        return broken(
                            sequence,
                            "its \(column) column says \(Self.quoted(stored)) but its hashed record says \(Self.quoted(hashed))",
                            column: column)
                    }
                }
                if let checkpoint = recorded[sequence], checkpoint.hash != storedHash {
                    return broken(
                        sequence,
                        "its hash differs from the one \(checkpoint.described) recorded for it: the log was rewritten up to here",
                        checkpoint: checkpoint)
                }
                previousHash = storedHash
                expectedSequence += 1
            }
            let last = expectedSequence - 1
            if let beyond = checkpoints.last, beyond.sequence > last {
                let removed = beyond.sequence == last + 1 ? "entry \(beyond.sequence) was" : "entries \(last + 1)–\(beyond.sequence) were"
                return broken(
                    last + 1, "the log ends at entry \(last), but \(beyond.described) recorded entry \(beyond.sequence): \(removed) removed",
                    checkpoint: beyond)
            }
            return Verification(checked: checked, firstBroken: nil, head: Head(sequence: last, hash: previousHash))
        }
    }

    /// The columns stored beside each record, copied from it, for queries' indexes.
    static let copiedColumns = ["time", "tool", "decision", "identity"]

    private static func quoted(_ text: String?) -> String {
        text.map { JSONWriter.write(.string($0)) } ?? "nothing"
    }

    private static func entry(_ row: Row) -> Entry? {
        let text: String = row["record"]
        guard let value = try? JSONReader.parse(text), let record = AuditRecord(json: value) else { return nil }
        return Entry(sequence: row["seq"], record: record, recordText: text, previousHash: row["prev_hash"], hash: row["hash"])
    }
}
