public import Foundation

/// Where a store keeps ``CallIntent``s: the write-ahead records of calls being forwarded.
/// Durable stores (SQLite, PostgreSQL) have one (``AuditStore/intents``); a store in memory,
/// which a crash loses whole, needs none.
public protocol CallIntentStore: Sendable {
    /// Whether a counter reservation writes the intent of its call along with it
    /// (``CallIntent/withReservation``), so that the pipeline drafts the intent before deciding.
    /// `false` unless a store says so: the intent is then written once the call is decided.
    var writesWithReservations: Bool { get }

    /// Writes `intents`; they are durable when it returns.
    func write(_ intents: [CallIntent]) async throws

    /// The intents `selection` takes, when `origin` recovers, oldest decision first.
    func intents(_ selection: CallIntent.Selection, by origin: CallIntent.Origin) async throws -> [CallIntent]

    /// Appends the intents `selection` takes as interrupted records
    /// (``CallIntent/interruptedRecord(recoveredAt:)``) to the audit log and deletes them, in one
    /// transaction. An intent its call's own record deleted meanwhile is not recovered. Take
    /// only intents of processes that are gone: a call still running appends its own record
    /// when it ends, after the interrupted one.
    func recover(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, now: Date) async throws -> CallIntent.Recovery
}

extension CallIntentStore {
    public var writesWithReservations: Bool { false }

    /// Recovers, now, what `selection` takes, as this process.
    public func recover(_ selection: CallIntent.Selection) async throws -> CallIntent.Recovery {
        try await recover(selection, by: .current, now: Date())
    }

    /// The intents `selection` takes, as this process would recover them.
    public func intents(_ selection: CallIntent.Selection) async throws -> [CallIntent] {
        try await intents(selection, by: .current)
    }
}
