import Foundation
import GRDB
public import WardenPolicy

/// A ``CounterLedger`` in SQLite: counts survive restarts and are shared by every process
/// using the same file. Counts of ended windows are deleted as reservations are made.
public struct SQLiteCounterLedger: CounterLedger {
    let database: DatabasePool

    public func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount] {
        let names = keys.map(\.description)
        let stored = try await database.read { db in
            try [String: String](
                Row.fetchAll(db, sql: "SELECT key, amount FROM counter WHERE key IN (\(databaseQuestionMarks(count: names.count)))", arguments: StatementArguments(names))
                    .map { ($0["key"], $0["amount"]) }, uniquingKeysWith: { first, _ in first })
        }
        var result: [CounterKey: CounterAmount] = [:]
        for key in keys {
            result[key] = stored[key.description].flatMap { CounterAmount($0) } ?? .zero
        }
        return result
    }

    public func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation? {
        let now = Int64(Date().timeIntervalSince1970)
        return try await database.writeWithoutTransaction { db in
            var refused: CounterReservation?
            try db.inTransaction(.immediate) {
                try db.execute(sql: "DELETE FROM counter WHERE window_end <= ?", arguments: [now])
                var pending: [String: CounterAmount] = [:]
                for reservation in reservations {
                    let key = reservation.key.description
                    let current = try pending[key] ?? Self.amount(of: key, in: db)
                    let next = current + reservation.amount
                    guard next <= reservation.max else {
                        refused = reservation
                        return .rollback
                    }
                    pending[key] = next
                    try db.execute(
                        sql: """
                            INSERT INTO counter (key, amount, window_end) VALUES (?, ?, ?)
                            ON CONFLICT(key) DO UPDATE SET amount = excluded.amount
                            """,
                        arguments: [key, next.description, reservation.key.windowEnd])
                }
                return .commit
            }
            return refused
        }
    }

    public func rollBack(_ reservations: [CounterReservation]) async throws {
        try await database.write { db in
            for reservation in reservations {
                let key = reservation.key.description
                let current = try Self.amount(of: key, in: db)
                let next = Swift.max(.zero, current - reservation.amount)
                try db.execute(sql: "UPDATE counter SET amount = ? WHERE key = ?", arguments: [next.description, key])
            }
        }
    }

    private static func amount(of key: String, in db: Database) throws -> CounterAmount {
        try String.fetchOne(db, sql: "SELECT amount FROM counter WHERE key = ?", arguments: [key]).flatMap { CounterAmount($0) } ?? .zero
    }
}
