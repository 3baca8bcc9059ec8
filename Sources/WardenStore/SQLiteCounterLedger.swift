import Foundation
import GRDB
import Synchronization
public import WardenPolicy

/// A ``CounterLedger`` in SQLite: counts survive restarts and are shared by every process
/// using the same file. Counts of ended windows are deleted, at most once a minute, as
/// reservations are made.
///
/// Snapshots come from memory: the counts this ledger last read or wrote. Another process
/// sharing the file may have counted more since; the reservation, which re-checks every
/// `max` inside an immediate transaction, then refuses, refreshes the cached counts, and the
/// ``PolicyEnforcer`` evaluates the call again on them. So a call costs one write
/// transaction, and limits stay exact across processes.
public final class SQLiteCounterLedger: CounterLedger {
    let database: DatabasePool
    private let cache = Mutex<[CounterKey: CounterAmount]>([:])
    /// When ended windows were last deleted, in seconds since the epoch.
    private let lastCleanup = Mutex<Int64>(0)

    init(database: DatabasePool) {
        self.database = database
    }

    public func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount] {
        var result: [CounterKey: CounterAmount] = [:]
        let missing = cache.withLock { cache in
            keys.filter { key in
                if let amount = cache[key] {
                    result[key] = amount
                    return false
                }
                return true
            }
        }
        guard !missing.isEmpty else { return result }
        let names = missing.map(\.description)
        let stored = try await database.read { db in
            try [String: String](
                Row.fetchAll(
                    db, sql: "SELECT key, amount FROM counter WHERE key IN (\(databaseQuestionMarks(count: names.count)))",
                    arguments: StatementArguments(names)
                ).map { ($0["key"], $0["amount"]) }, uniquingKeysWith: { first, _ in first })
        }
        let fetched = missing.map { ($0, stored[$0.description].flatMap { CounterAmount($0) } ?? .zero) }
        remember(fetched)
        for (key, amount) in fetched { result[key] = amount }
        return result
    }

    public func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation? {
        let now = Int64(Date().timeIntervalSince1970)
        let cleanup = lastCleanup.withLock { last in
            defer { if now - last >= 60 { last = now } }
            return now - last >= 60
        }
        let (refused, seen) = try await database.writeWithoutTransaction { db in
            var refused: CounterReservation?
            var seen: [(CounterKey, CounterAmount)] = []
            try db.inTransaction(.immediate) {
                if cleanup {
                    try db.execute(sql: "DELETE FROM counter WHERE window_end <= ?", arguments: [now])
                }
                var pending: [CounterKey: CounterAmount] = [:]
                for reservation in reservations {
                    let key = reservation.key
                    let current = try pending[key] ?? Self.amount(of: key.description, in: db)
                    let next = current + reservation.amount
                    guard next <= reservation.max else {
                        refused = reservation
                        return .rollback
                    }
                    pending[key] = next
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO counter (key, amount, window_end) VALUES (?, ?, ?)
                            ON CONFLICT(key) DO UPDATE SET amount = excluded.amount
                            """
                    ).execute(arguments: [key.description, next.description, key.windowEnd])
                }
                seen = Array(pending)
                return .commit
            }
            if refused != nil {
                // Rolled back: read what other processes have counted, for the retry.
                seen = try reservations.map { ($0.key, try Self.amount(of: $0.key.description, in: db)) }
            }
            return (refused, seen)
        }
        remember(seen)
        return refused
    }

    public func rollBack(_ reservations: [CounterReservation]) async throws {
        let seen = try await database.write { db in
            try reservations.map { reservation -> (CounterKey, CounterAmount) in
                let key = reservation.key.description
                let next = Swift.max(.zero, try Self.amount(of: key, in: db) - reservation.amount)
                try db.execute(sql: "UPDATE counter SET amount = ? WHERE key = ?", arguments: [next.description, key])
                return (reservation.key, next)
            }
        }
        remember(seen)
    }

    /// Caches counts read or written; forgets ended windows once the cache grows.
    private func remember(_ amounts: [(CounterKey, CounterAmount)]) {
        let now = Int64(Date().timeIntervalSince1970)
        cache.withLock { cache in
            if cache.count > 4096 { cache = cache.filter { $0.key.windowEnd > now } }
            for (key, amount) in amounts { cache[key] = amount }
        }
    }

    private static func amount(of key: String, in db: Database) throws -> CounterAmount {
        try String.fetchOne(db.cachedStatement(sql: "SELECT amount FROM counter WHERE key = ?"), arguments: [key])
            .flatMap { CounterAmount($0) } ?? .zero
    }
}
