import Foundation
import GRDB

/// The write-ahead records of calls being forwarded, for a SQLite store: written to the
/// store's ``IntentJournal``, and finished by the audit records that carry their ids (column
/// `intent` of table `audit`), which ``SQLiteAuditStore`` marks in the journal once committed.
struct SQLiteCallIntentStore: CallIntentStore {
    let database: DatabasePool
    let journal: IntentJournal

    func write(_ intents: [CallIntent]) async throws {
        try journal.write(intents)
    }

    func intents(_ selection: CallIntent.Selection, by origin: CallIntent.Origin) async throws -> [CallIntent] {
        let candidates = try Self.candidates(in: journal.contents(), selection, by: origin)
        guard !candidates.isEmpty else { return [] }
        return try await database.read { db in try Self.unaudited(candidates, in: db) }
    }

    func recover(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, now: Date) async throws -> CallIntent.Recovery {
        let read = try journal.contents()
        let candidates = Self.candidates(in: read, selection, by: origin)
        guard !candidates.isEmpty else {
            journal.settle([], in: read)
            return CallIntent.Recovery(recovered: 0, head: nil)
        }
        let recovery = try await database.writeWithoutTransaction { db in
            var recovery = CallIntent.Recovery(recovered: 0, head: nil)
            // Immediate: a call finishing, or another process recovering, waits or is seen.
            try db.inTransaction(.immediate) {
                let taken = try Self.unaudited(candidates, in: db)
                guard !taken.isEmpty else { return .rollback }
                let head = try SQLiteAuditStore.append(taken.map { $0.interruptedRecord(recoveredAt: now) }, in: db)
                recovery = CallIntent.Recovery(recovered: taken.count, head: head)
                return .commit
            }
            return recovery
        }
        // Each candidate now has a record: its own, or the interrupted one just appended.
        journal.settle(Set(candidates.map(\.id)), in: read)
        return recovery
    }

    /// The unfinished intents of `read` that `selection` takes, oldest decision first.
    private static func candidates(
        in read: [IntentJournal.Contents], _ selection: CallIntent.Selection, by origin: CallIntent.Origin
    ) -> [CallIntent] {
        read.flatMap(\.unfinished)
            .filter { selection.matches($0, by: origin) }
            .sorted { ($0.timeText, $0.id) < ($1.timeText, $1.id) }
    }

    /// The intents of `candidates` that no audit record finishes yet.
    private static func unaudited(_ candidates: [CallIntent], in db: Database) throws -> [CallIntent] {
        let finished = try db.cachedStatement(sql: "SELECT 1 FROM audit WHERE time >= ? AND intent = ? LIMIT 1")
        return try candidates.filter { intent in
            try Int.fetchOne(finished, arguments: [intent.timeText, intent.id]) == nil
        }
    }
}
