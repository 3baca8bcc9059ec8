import Foundation
import PostgresNIO

/// The write-ahead records of calls being forwarded, in PostgreSQL (`warden_call_intent`). A
/// limited call's intent goes in its reservation's statement (``ReservationBatcher``); the
/// intents of other calls are written here, concurrent ones together in one statement (a
/// ``StatementBatcher``). The call's audit record deletes it in its append's statement
/// (``PostgresAuditStore/append(_:)``).
final class PostgresCallIntentStore: CallIntentStore {
    let database: PostgresDatabase
    private let batcher: StatementBatcher<CallIntent, Void>

    /// A limited call's intent rides on its reservation (``PostgresCounterLedger``).
    var writesWithReservations: Bool { true }

    /// The most intents one statement carries.
    static let maximumBatch = 256

    init(database: PostgresDatabase) {
        self.database = database
        batcher = StatementBatcher(maximumBatch: Self.maximumBatch) { intents in
            try await Self.insert(intents, into: database)
            return intents.map { _ in () }
        }
    }

    func write(_ intents: [CallIntent]) async throws {
        switch intents.count {
        case 0: return
        case 1: try await batcher.submit(intents[0])
        default: try await Self.insert(intents, into: database)
        }
    }

    func intents(_ selection: CallIntent.Selection, by origin: CallIntent.Origin) async throws -> [CallIntent] {
        try await database.query("SELECT \(unescaped: Self.columns) FROM warden_call_intent ORDER BY time, id", "reading call intents")
            .map(Self.intent).filter { selection.matches($0, by: origin) }
    }

    func recover(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, now: Date) async throws -> CallIntent.Recovery {
        let logger = database.logger
        return try await database.transaction("recovering interrupted calls", retryingConflicts: true) { connection in
            // The chain's lock first, as appends take it before deleting the intents they finish:
            // in the other order, a recovery and an append could each wait for the other.
            try await PostgresAuditStore.lockChain(on: connection, logger: logger)
            let taken = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM warden_call_intent ORDER BY time, id", logger: logger
            ).collect().map(Self.intent).filter { selection.matches($0, by: origin) }
            guard !taken.isEmpty else { return CallIntent.Recovery(recovered: 0, head: nil) }
            // Deleted first: an intent its call's own record deleted meanwhile is not recovered too.
            let deleted = Set(
                try await connection.query(
                    "DELETE FROM warden_call_intent WHERE id = ANY(\(taken.map(\.id))) RETURNING id", logger: logger
                ).collect().map { try $0.decode(String.self) })
            let recovered = taken.filter { deleted.contains($0.id) }
            guard !recovered.isEmpty else { return CallIntent.Recovery(recovered: 0, head: nil) }
            let head = try await PostgresAuditStore.appendAfterNewest(
                recovered.map { $0.interruptedRecord(recoveredAt: now) }, on: connection, logger: logger)
            return CallIntent.Recovery(recovered: recovered.count, head: head)
        }
    }

    /// Inserts `intents` in one statement.
    private static func insert(_ intents: [CallIntent], into database: PostgresDatabase) async throws {
        var columns = Columns()
        for intent in intents { columns.append(intent, call: 0) }
        try await database.query(
            """
            INSERT INTO warden_call_intent (id, instance, holder, process, time, record)
            SELECT id, nullif(inst, ''), h, p, tm, r FROM unnest(
                \(columns.ids), \(columns.instances), \(columns.holders), \(columns.processes), \(columns.times), \(columns.records)
            ) AS u(id, inst, h, p, tm, r)
            """, "writing call intents")
    }

    /// The columns of an intent, in the order ``intent(_:)`` reads them.
    static let columns = "id, instance, holder, process, time, record"

    static func intent(_ row: PostgresRow) throws -> CallIntent {
        let (id, instance, holder, process, time, record) = try row.decode((String, String?, String, String, String, String).self)
        return CallIntent(id: id, recordText: record, instance: instance, holder: holder, process: process, time: time)
    }

    /// Intents as parallel arrays, for a statement to unnest; `calls` says which call of a
    /// reservation batch each belongs to, and an empty instance is none.
    struct Columns {
        var calls: [Int32] = []
        var ids: [String] = []
        var instances: [String] = []
        var holders: [String] = []
        var processes: [String] = []
        var times: [String] = []
        var records: [String] = []

        mutating func append(_ intent: CallIntent, call: Int32) {
            calls.append(call)
            ids.append(intent.id)
            instances.append(intent.instance ?? "")
            holders.append(intent.holder)
            processes.append(intent.process)
            times.append(intent.timeText)
            records.append(intent.recordText)
        }
    }
}
