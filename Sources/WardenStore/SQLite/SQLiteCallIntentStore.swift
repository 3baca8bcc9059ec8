import Foundation
import GRDB

/// The write-ahead records of calls being forwarded, in the SQLite file (table `call_intent`).
/// A limited call's intent is written in its reservation's transaction (``SQLiteCounterLedger``);
/// the call's audit record deletes it in its append's (``SQLiteAuditStore/append(_:finishing:)``).
struct SQLiteCallIntentStore: CallIntentStore {
    let database: DatabasePool

    func write(_ intents: [CallIntent]) async throws {
        guard !intents.isEmpty else { return }
        try await database.write { db in
            for intent in intents { try Self.insert(intent, in: db) }
        }
    }

    func intents(_ selection: CallIntent.Selection, by origin: CallIntent.Origin) async throws -> [CallIntent] {
        try await database.read { db in try Self.selected(selection, by: origin, in: db) }
    }

    func recover(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, now: Date) async throws -> CallIntent.Recovery {
        try await database.writeWithoutTransaction { db in
            var recovery = CallIntent.Recovery(recovered: 0, head: nil)
            try db.inTransaction(.immediate) {
                let taken = try Self.selected(selection, by: origin, in: db)
                guard !taken.isEmpty else { return .rollback }
                try Self.delete(taken.map(\.id), in: db)
                let head = try SQLiteAuditStore.append(taken.map { $0.interruptedRecord(recoveredAt: now) }, in: db)
                recovery = CallIntent.Recovery(recovered: taken.count, head: head)
                return .commit
            }
            return recovery
        }
    }

    /// Inserts `intent`, inside the caller's transaction.
    static func insert(_ intent: CallIntent, in db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO call_intent (id, instance, holder, process, time, record) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [intent.id, intent.instance, intent.holder, intent.process, intent.timeText, intent.recordText])
    }

    /// Deletes the intents `ids`, inside the caller's transaction.
    static func delete(_ ids: [String], in db: Database) throws {
        let statement = try db.cachedStatement(sql: "DELETE FROM call_intent WHERE id = ?")
        for id in ids { try statement.execute(arguments: [id]) }
    }

    /// Every intent `selection` takes, oldest decision first.
    private static func selected(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, in db: Database) throws -> [CallIntent] {
        try Row.fetchAll(db, sql: "SELECT id, instance, holder, process, time, record FROM call_intent ORDER BY time, id")
            .map { row in
                CallIntent(
                    id: row["id"], recordText: row["record"], instance: row["instance"], holder: row["holder"], process: row["process"],
                    time: row["time"])
            }
            .filter { selection.matches($0, by: origin) }
    }
}
