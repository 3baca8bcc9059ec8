public import Foundation
import Synchronization
import WardenJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The write-ahead record of a call about to be forwarded: its draft audit record, made
/// durable **before** the call reaches the server, and deleted in the same transaction as the
/// call's final audit record (``AuditStore/append(_:)``).
///
/// An intent still there when no process is running the call means Warden stopped (killed,
/// crashed) between forwarding and recording: recovery (``CallIntentStore/recover(_:now:)``)
/// appends its draft to the audit log as an interrupted record (``interruptedRecord(recoveredAt:)``).
/// So no allowed call goes unaudited, whenever the gateway dies.
public struct CallIntent: Sendable, Equatable {
    /// A random id (128 bits in hex), the key the final audit record deletes it by.
    public var id: String
    /// The draft of the call's audit record: as decided, without the server's answer.
    public var record: AuditRecord
    /// The `warden serve` instance running the call (the prefix of its session id); `nil` for
    /// `warden run`.
    public var instance: String?
    /// The process running the call, as `pid@host` (``Approval/currentHolder``).
    public var holder: String
    /// A random name of that process's run, so a restarted process with the same pid and
    /// host (a container's pid 1) tells its predecessor's intents from its own.
    public var process: String

    public init(id: String = CallIntent.newID(), record: AuditRecord, instance: String?, origin: Origin = .current) {
        self.id = id
        self.record = record
        self.instance = instance
        self.holder = origin.holder
        self.process = origin.process
    }

    /// An intent as a store reads it back. A draft that cannot be read (edited in the store)
    /// becomes a record that says so, so recovery still audits the call.
    init(id: String, recordText: String, instance: String?, holder: String, process: String, time: String) {
        self.id = id
        if let value = try? JSONReader.parse(recordText), let record = AuditRecord(json: value) {
            self.record = record
        } else {
            self.record = AuditRecord(
                time: (try? Date(time, strategy: AuditRecord.timeFormat)) ?? Date(timeIntervalSince1970: 0), identity: "(unknown)",
                method: "tools/call", decision: "allow", message: "the draft of this call's record could not be read")
        }
        self.instance = instance
        self.holder = holder
        self.process = process
    }

    /// The draft record as stored: the text the audit log would hash for it.
    var recordText: String {
        var text: [UInt8] = []
        record.writeText(time: timeText, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// When the call was decided, as records write times.
    var timeText: String { record.timeText }

    /// 128 random bits, as 32 hex digits.
    public static func newID() -> String {
        let bits = randomBits()
        return String(unsafeUninitializedCapacity: 32) { text in
            for half in 0..<2 {
                var word = half == 0 ? bits.0 : bits.1
                for position in (half * 16..<half * 16 + 16).reversed() {
                    text[position] = hexDigits[Int(word & 0xf)]
                    word >>= 4
                }
            }
            return 32
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// 128 random bits from the system's generator, in one system call where it has one
    /// (`SystemRandomNumberGenerator` makes one per 64 bits).
    private static func randomBits() -> (UInt64, UInt64) {
        var bits: (UInt64, UInt64) = (0, 0)
        #if canImport(Glibc)
            let filled = withUnsafeMutableBytes(of: &bits) { getentropy($0.baseAddress, $0.count) == 0 }
            if filled { return bits }
            var generator = SystemRandomNumberGenerator()
            return (generator.next(), generator.next())
        #elseif canImport(Darwin)
            withUnsafeMutableBytes(of: &bits) { arc4random_buf($0.baseAddress, $0.count) }
            return bits
        #else
            var generator = SystemRandomNumberGenerator()
            return (generator.next(), generator.next())
        #endif
    }

    /// The `upstream_status` of a recovered intent's record.
    public static let interruptedStatus = "interrupted"

    /// The audit record recovery appends for this intent: the draft, with `upstream_status`
    /// `interrupted` and a message saying so. Its time stays the decision's; it finishes the
    /// intent (``AuditRecord/intent``), as the call's own record would have.
    public func interruptedRecord(recoveredAt now: Date) -> AuditRecord {
        var record = record
        record.upstreamStatus = Self.interruptedStatus
        let by = instance.map { "instance \($0), " } ?? ""
        let said = record.message.map { "\($0); " } ?? ""
        record.message =
            "\(said)interrupted: Warden (\(by)process \(holder)) stopped after deciding this call and before recording "
            + "its outcome, so it may or may not have reached the server; recovered \(Timestamp.text(of: now))"
        record.latencyMilliseconds = nil
        record.intent = id
        return record
    }
}

extension CallIntent {
    /// Who writes intents: this process.
    public struct Origin: Sendable, Equatable {
        /// `pid@host`.
        public var holder: String
        /// A random name of this run of the process.
        public var process: String

        public init(holder: String, process: String) {
            self.holder = holder
            self.process = process
        }

        /// This process.
        public static let current = Origin(holder: Approval.currentHolder, process: CallIntent.newID())
    }

    /// Which intents recovery takes. An intent of the recovering process itself is never taken.
    public struct Selection: Sendable, Equatable {
        /// Intents of processes on this host that are not running any more (and, of this
        /// process's pid and host, those of an earlier run): what a gateway left behind here.
        public var stoppedOnThisHost = false
        /// Intents of this `warden serve` instance, whatever process wrote them.
        public var instance: String?
        /// Intents whose call was decided before this.
        public var decidedBefore: Date?

        public init(stoppedOnThisHost: Bool = false, instance: String? = nil, decidedBefore: Date? = nil) {
            self.stoppedOnThisHost = stoppedOnThisHost
            self.instance = instance
            self.decidedBefore = decidedBefore
        }

        /// What a gateway starting on this host recovers: intents its stopped predecessors
        /// here left behind, and those of its own instance name (`nil` for `warden run`).
        public static func leftBehind(instance: String? = nil) -> Selection {
            Selection(stoppedOnThisHost: true, instance: instance)
        }

        /// Whether recovery by `origin` takes `intent` (any one criterion suffices).
        /// - Parameter isAlive: Whether a holder `pid@host` is running (``Approval/isHolderAlive(_:)``).
        public func matches(_ intent: CallIntent, by origin: Origin, isAlive: (String) -> Bool = Approval.isHolderAlive) -> Bool {
            guard intent.process != origin.process else { return false }
            if let instance, intent.instance == instance { return true }
            if let decidedBefore, intent.record.time < decidedBefore { return true }
            return stoppedOnThisHost && Self.isStopped(holder: intent.holder, process: intent.process, by: origin, isAlive: isAlive)
        }

        /// Whether the process that ran as `process` under `holder` (`pid@host`) has stopped, as
        /// `origin` can tell: an earlier run of `origin`'s own pid, or a pid on `origin`'s host
        /// that no longer runs. A process on another host is never known to have stopped.
        public static func isStopped(
            holder: String, process: String, by origin: Origin, isAlive: (String) -> Bool = Approval.isHolderAlive
        ) -> Bool {
            guard host(of: holder) == host(of: origin.holder) else { return false }
            return holder == origin.holder ? process != origin.process : !isAlive(holder)
        }

        private static func host(of holder: String) -> Substring? {
            holder.firstIndex(of: "@").map { holder[holder.index(after: $0)...] }
        }
    }

    /// What a recovery did.
    public struct Recovery: Sendable, Equatable {
        /// How many intents became interrupted records.
        public var recovered: Int
        /// The audit log's head after them; `nil` when none were recovered.
        public var head: AuditLog.Head?

        public init(recovered: Int, head: AuditLog.Head?) {
            self.recovered = recovered
            self.head = head
        }
    }
}

extension CallIntent {
    /// An intent waiting to be written in the same transaction as its call's counter
    /// reservation, handed to the store's ledger through ``withReservation``.
    public final class Pending: Sendable {
        /// The intent.
        public let intent: CallIntent
        private let written = Atomic<Bool>(false)

        public init(_ intent: CallIntent) {
            self.intent = intent
        }

        /// Whether a ledger wrote it with a reservation.
        public var isWritten: Bool { written.load(ordering: .acquiring) }

        /// Marks it written (by the ledger whose reservation took it along).
        func markWritten() { written.store(true, ordering: .releasing) }
    }

    /// The intent the current task's next successful reservation writes along, in the same
    /// transaction (SQLite) or statement (PostgreSQL), so a limited call costs no statement of
    /// its own for it. Ledgers that cannot (in memory, session-scope counts) leave it unwritten.
    @TaskLocal public static var withReservation: Pending?
}
