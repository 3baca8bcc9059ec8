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
///
/// That write is, as a rule, one compare-and-swap statement per count: the count goes from
/// the cached amount to the new one only if it still holds the cached amount, which leaves
/// the decision made on the cache right. When the count changed since it was cached (another
/// process or another call counted), or it is new, or the cache leaves no room, a full
/// transaction reads, re-checks and writes instead.
///
/// The swap is made on the calling thread when that needs no waiting
/// (``CounterSwapConnection``); everything else runs on GRDB's writer queue.
public final class SQLiteCounterLedger: CounterLedger {
    let database: DatabasePool
    private let swapConnection: CounterSwapConnection?
    private let cache = CounterCache()
    /// When ended windows were last deleted, in seconds since the epoch.
    private let lastCleanup = Mutex<Int64>(0)

    init(database: DatabasePool, swapConnection: CounterSwapConnection?) {
        self.database = database
        self.swapConnection = swapConnection
    }

    public func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount] {
        let (found, missing) = cached(keys)
        guard !missing.isEmpty else { return found }
        return merged(found, try await database.read { db in try Self.amounts(of: missing, in: db) })
    }

    /// Reserves. The task's ``CallIntent/withReservation`` intent is left unwritten: a SQLite
    /// store writes intents to its journal, which costs less than a row in the transaction.
    public func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation? {
        var plan = plan(reservations)
        if let swaps = plan.swaps, let swapConnection {
            switch swapConnection.swapWithoutWaiting({ db in try Self.swap(swaps, in: db) }) {
            case true?:
                remember(swaps.map { ($0.key, $0.next) })
                return nil
            case false?:
                plan.swaps = nil  // a count moved since it was cached: the transaction decides
            case nil:
                break
            }
        }
        let planned = plan
        let outcome = try await database.writeWithoutTransaction { db in
            try Self.reserve(reservations, following: planned, in: db)
        }
        remember(outcome.seen)
        return outcome.refused
    }

    public func rollBack(_ reservations: [CounterReservation]) async throws {
        remember(try await database.write { db in try Self.rollBack(reservations, in: db) })
    }

    // MARK: - Cache

    private func cached(_ keys: [CounterKey]) -> ([CounterKey: CounterAmount], [CounterKey]) { cache.cached(keys) }

    private func merged(_ found: [CounterKey: CounterAmount], _ read: [(CounterKey, CounterAmount)]) -> [CounterKey: CounterAmount] {
        cache.merged(found, read)
    }

    /// Closes the swap's connection (the store closes the database).
    func close() {
        try? swapConnection?.close()
    }

    private func remember(_ amounts: [(CounterKey, CounterAmount)]) { cache.remember(amounts) }

    /// The current time, and whether ended windows are due to be deleted (once a minute).
    private func cleanupDue() -> (now: Int64, due: Bool) {
        let now = Int64(Date().timeIntervalSince1970)
        return lastCleanup.withLock { last in
            guard now - last >= 60 else { return (now, false) }
            last = now
            return (now, true)
        }
    }

    /// How a reservation is to be written, decided before the write (from memory).
    struct Plan {
        /// The current time, in seconds since the epoch.
        var now: Int64
        /// Whether ended windows are to be deleted first (then the transaction runs).
        var cleanup: Bool
        /// The compare-and-swaps to try first, if the cached counts allow them.
        var swaps: [Swap]?
    }

    private func plan(_ reservations: [CounterReservation]) -> Plan {
        let (now, cleanup) = cleanupDue()
        return Plan(now: now, cleanup: cleanup, swaps: cleanup ? nil : plannedSwaps(for: reservations))
    }

    /// One count's compare-and-swap: from `expected` (what this ledger last saw) to `next`.
    struct Swap {
        var key: CounterKey
        var name: String
        var expected: CounterAmount
        var next: CounterAmount
    }

    /// The swaps that make `reservations` from the cached counts; `nil` when a count is not
    /// cached, is cached as zero (most likely a row not written yet, which no swap can
    /// change), or the cached counts leave no room (the full transaction then decides, on the
    /// counts in the file).
    private func plannedSwaps(for reservations: [CounterReservation]) -> [Swap]? {
        cache.withCounts { cache in
            var swaps: [Swap] = []
            for reservation in reservations {
                let key = reservation.key
                if let index = swaps.firstIndex(where: { $0.key == key }) {
                    swaps[index].next = swaps[index].next + reservation.amount
                    guard swaps[index].next <= reservation.max else { return nil }
                } else {
                    guard let expected = cache[key], expected != .zero else { return nil }
                    let next = expected + reservation.amount
                    guard next <= reservation.max else { return nil }
                    swaps.append(Swap(key: key, name: key.description, expected: expected, next: next))
                }
            }
            return swaps
        }
    }

    // MARK: - Transactions

    /// Reserves with the plan's swaps when it has them and every count still holds its
    /// expected amount, otherwise in a transaction that reads, re-checks and writes each count.
    private static func reserve(
        _ reservations: [CounterReservation], following plan: Plan, in db: Database
    ) throws -> (refused: CounterReservation?, seen: [(CounterKey, CounterAmount)]) {
        if let swaps = plan.swaps, try swap(swaps, in: db) {
            return (nil, swaps.map { ($0.key, $0.next) })
        }
        return try reserve(reservations, in: db, now: plan.now, cleanup: plan.cleanup)
    }

    /// Applies `swaps`, all or none: whether every count held its expected amount. One swap
    /// alone is a statement of its own (atomic without a transaction).
    private static func swap(_ swaps: [Swap], in db: Database) throws -> Bool {
        func apply(_ swap: Swap) throws -> Bool {
            try db.cachedStatement(sql: "UPDATE counter SET amount = ? WHERE key = ? AND amount = ?")
                .execute(bindingTexts: [swap.next.description, swap.name, swap.expected.description])
            return db.changesCount == 1
        }
        guard swaps.count > 1 else { return try swaps.allSatisfy(apply) }
        var swapped = false
        try db.inTransaction(.immediate) {
            swapped = try swaps.allSatisfy(apply)
            return swapped ? .commit : .rollback
        }
        return swapped
    }

    private static func reserve(
        _ reservations: [CounterReservation],
        in db: Database,
        now: Int64,
        cleanup: Bool
    ) throws -> (refused: CounterReservation?, seen: [(CounterKey, CounterAmount)]) {
        var refused: CounterReservation?
        var seen: [(CounterKey, CounterAmount)] = []
        try db.inTransaction(.immediate) {
            if cleanup {
                try db.execute(sql: "DELETE FROM counter WHERE window_end <= ?", arguments: [now])
            }
            var pending: [CounterKey: CounterAmount] = [:]
            for reservation in reservations {
                let key = reservation.key
                let name = key.description
                let next = try (pending[key] ?? amount(of: name, in: db)) + reservation.amount
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
                ).execute(arguments: [name, next.description, key.windowEnd])
            }
            seen = Array(pending)
            return .commit
        }
        if refused != nil {
            // Rolled back: read what other processes have counted, for the retry.
            seen = try amounts(of: reservations.map(\.key), in: db)
        }
        return (refused, seen)
    }

    private static func rollBack(_ reservations: [CounterReservation], in db: Database) throws -> [(CounterKey, CounterAmount)] {
        try reservations.map { reservation in
            let key = reservation.key.description
            let next = Swift.max(.zero, try amount(of: key, in: db) - reservation.amount)
            try db.cachedStatement(sql: "UPDATE counter SET amount = ? WHERE key = ?").execute(arguments: [next.description, key])
            return (reservation.key, next)
        }
    }

    private static func amounts(of keys: [CounterKey], in db: Database) throws -> [(CounterKey, CounterAmount)] {
        try keys.map { ($0, try amount(of: $0.description, in: db)) }
    }

    private static func amount(of key: String, in db: Database) throws -> CounterAmount {
        try String.fetchOne(db.cachedStatement(sql: "SELECT amount FROM counter WHERE key = ?"), arguments: [key])
            .flatMap { CounterAmount($0) } ?? .zero
    }
}
