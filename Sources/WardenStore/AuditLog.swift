public import Foundation
public import WardenJSON

/// The hash-chained audit log, whatever keeps it (an ``AuditStore``). Each entry's hash
/// covers its sequence number, its record and the previous entry's hash, so editing,
/// deleting or reordering entries breaks the chain at the first entry touched, and
/// ``AuditStore/verify(against:)`` names it. Checkpoints of the head kept outside the store
/// (``AuditCheckpoint``) also reveal a cut of the newest entries.
public enum AuditLog {
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

        /// The entry of a stored row; `nil` when its record cannot be read.
        public init?(_ row: Row) {
            guard let value = try? JSONReader.parse(row.recordText), let record = AuditRecord(json: value) else { return nil }
            self.sequence = row.sequence
            self.record = record
            self.recordText = row.recordText
            self.previousHash = row.previousHash
            self.hash = row.hash
        }
    }

    /// An entry as a store keeps it: the chained record, and the columns copied from it for
    /// queries (``copiedColumns``).
    public struct Row: Sendable, Equatable {
        public var sequence: Int64
        public var time: String
        public var recordText: String
        public var previousHash: String
        public var hash: String
        public var tool: String?
        public var decision: String
        public var identity: String

        public init(
            sequence: Int64, time: String, recordText: String, previousHash: String, hash: String, tool: String?, decision: String,
            identity: String
        ) {
            self.sequence = sequence
            self.time = time
            self.recordText = recordText
            self.previousHash = previousHash
            self.hash = hash
            self.tool = tool
            self.decision = decision
            self.identity = identity
        }

        /// The copied column `name` (one of ``copiedColumns``).
        func column(_ name: String) -> String? {
            switch name {
            case "time": time
            case "tool": tool
            case "decision": decision
            default: identity
            }
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

        /// The head of an empty log.
        public static let empty = Head(sequence: 0, hash: genesisHash)
    }

    /// What ``AuditStore/verify(against:)`` found.
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

        /// ``since`` as record times are written, for comparing text with text.
        public var sinceText: String? { since?.formatted(AuditRecord.timeFormat) }

        /// Whether the entry in `row` passes the conditions on tool, decision, identity, time and
        /// sequence (not ``limit``). They read the hashed record itself, not the columns stored
        /// beside it, so an edited column cannot hide an entry from a query (the time column
        /// only narrows, as an index would).
        public func matches(_ row: Row) -> Bool {
            if let afterSequence, row.sequence <= afterSequence { return false }
            guard let record = try? JSONReader.parse(row.recordText) else { return false }
            if let tool, record["tool"]?.stringValue != tool { return false }
            if let decision, record["decision"]?.stringValue != decision { return false }
            if let identity, record["identity"]?.stringValue != identity { return false }
            if let sinceText {
                guard row.time >= sinceText, let time = record["time"]?.stringValue, time >= sinceText else { return false }
            }
            return true
        }
    }

    /// The hash of an entry.
    static func hash(sequence: Int64, recordText: String, previousHash: String) -> String {
        var message = hashedPrefix(sequence: sequence, previousHash: previousHash)
        message.append(contentsOf: recordText.utf8)
        return Digest.sha256(message)
    }

    /// What an entry's hash covers before its record text: `previousHash\nsequence\n`.
    private static func hashedPrefix(sequence: Int64, previousHash: String) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(1024)  // room for most records after it
        message.append(contentsOf: previousHash.utf8)
        message.append(UInt8(ascii: "\n"))
        message.append(contentsOf: String(sequence).utf8)
        message.append(UInt8(ascii: "\n"))
        return message
    }

    /// `records` as the rows that follow `head`, chained, for a store to append. Each record's
    /// text is written straight after its hash's prefix, so it is hashed where it was written.
    public static func chain(_ records: [AuditRecord], after head: Head) -> [Row] {
        var sequence = head.sequence
        var previousHash = head.hash
        var rows: [Row] = []
        rows.reserveCapacity(records.count)
        // By index: each record is read in place, not copied (16 strings retained and released).
        for index in records.indices {
            sequence += 1
            let time = records[index].timeText
            var message = hashedPrefix(sequence: sequence, previousHash: previousHash)
            let textStart = message.count
            records[index].writeText(time: time, to: &message)
            let hash = Digest.sha256(message)
            rows.append(
                Row(
                    sequence: sequence, time: time, recordText: String(decoding: message[textStart...], as: UTF8.self),
                    previousHash: previousHash, hash: hash, tool: records[index].tool, decision: records[index].decision,
                    identity: records[index].identity))
            previousHash = hash
        }
        return rows
    }

    /// The columns stored beside each record, copied from it, for queries' indexes.
    static let copiedColumns = ["time", "tool", "decision", "identity"]
}
