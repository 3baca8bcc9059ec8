import Foundation
import PostgresNIO
import Synchronization
public import WardenPolicy

/// A ``CounterLedger`` in PostgreSQL, exact across every instance sharing the database.
///
/// A reservation is one statement, one round trip: the `warden_reserve_batch` function the
/// schema creates locks every count it touches in key order and adds all of a call's amounts
/// or none, and writes the call's ``CallIntent`` when they are added. Concurrent calls of one
/// instance share a statement (``ReservationBatcher``).
/// Counts of ended windows are deleted, at most once a minute, before a reservation.
///
/// Snapshots come from memory, as in ``SQLiteCounterLedger``: the counts this ledger last read
/// or wrote. Another instance may have counted more since; the reservation re-checks every
/// `max` under the rows' locks, refuses, refreshes the cached counts, and the
/// ``PolicyEnforcer`` evaluates the call again on them.
public final class PostgresCounterLedger: CounterLedger {
    let database: PostgresDatabase
    private let cache = CounterCache()
    /// When ended windows were last deleted, in seconds since the epoch.
    private let lastCleanup = Mutex<Int64>(0)

    private let batcher: ReservationBatcher

    init(database: PostgresDatabase) {
        self.database = database
        batcher = ReservationBatcher(database: database)
    }

    public func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount] {
        let (found, missing) = cache.cached(keys)
        guard !missing.isEmpty else { return found }
        return cache.merged(found, try await amounts(of: missing))
    }

    /// Reserves, and writes the task's ``CallIntent/withReservation`` intent in the same
    /// statement when the reservation is made.
    public func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation? {
        guard !reservations.isEmpty else { return nil }
        try await cleanUpIfDue()
        let pending = CallIntent.withReservation
        let outcome = try await batcher.reserve(Self.plan(reservations), intent: pending?.intent)
        cache.remember(reservations.map { ($0.key, outcome.counts[$0.key.description] ?? .zero) })
        guard outcome.refused else {
            pending?.markWritten()
            return nil
        }
        return Self.firstRefused(reservations, counts: outcome.counts) ?? reservations[0]
    }

    public func rollBack(_ reservations: [CounterReservation]) async throws {
        guard !reservations.isEmpty else { return }
        var totals: [String: CounterAmount] = [:]
        for reservation in reservations { totals[reservation.key.description, default: .zero] = totals[reservation.key.description, default: .zero] + reservation.amount }
        let keys = totals.keys.sorted()
        let amounts = keys.map { totals[$0]!.description }
        let rows = try await database.query(
            """
            UPDATE warden_counter c SET amount = greatest(0, c.amount - t.a)
            FROM unnest(\(keys)::text[], \(amounts)::text[]::numeric[]) AS t(k, a) WHERE c.key = t.k
            RETURNING c.key, trim_scale(c.amount)::text
            """, "giving counts back")
        var counts: [String: CounterAmount] = [:]
        for row in rows {
            let (key, amount) = try row.decode((String, String).self)
            counts[key] = CounterAmount(amount) ?? .zero
        }
        cache.remember(reservations.compactMap { reservation in counts[reservation.key.description].map { (reservation.key, $0) } })
    }

    // MARK: - Planning

    /// The arguments of `warden_reserve`, one element per distinct key, in key order.
    struct Plan {
        var keys: [String] = []
        var amounts: [String] = []
        /// The most each count may be now for all of its reservations to fit.
        var thresholds: [String] = []
        var windowEnds: [Int64] = []
    }

    /// Sums the reservations per key; a key's threshold is the least of `max - (the amounts
    /// reserved on it up to and including this one)` over its reservations, so a count at or
    /// under it takes every one of them in order, as reserving them one by one would.
    static func plan(_ reservations: [CounterReservation]) -> Plan {
        var perKey: [String: (total: CounterAmount, threshold: CounterAmount, windowEnd: Int64)] = [:]
        for reservation in reservations {
            let name = reservation.key.description
            let total = (perKey[name]?.total ?? .zero) + reservation.amount
            let room = reservation.max - total
            let threshold = perKey[name].map { Swift.min($0.threshold, room) } ?? room
            perKey[name] = (total, threshold, reservation.key.windowEnd)
        }
        var plan = Plan()
        for name in perKey.keys.sorted() {
            let entry = perKey[name]!
            plan.keys.append(name)
            plan.amounts.append(entry.total.description)
            plan.thresholds.append(entry.threshold.description)
            plan.windowEnds.append(entry.windowEnd)
        }
        return plan
    }

    /// The first reservation that does not fit on `counts`, taken in order.
    static func firstRefused(_ reservations: [CounterReservation], counts: [String: CounterAmount]) -> CounterReservation? {
        var pending: [String: CounterAmount] = [:]
        for reservation in reservations {
            let name = reservation.key.description
            let next = (pending[name] ?? counts[name] ?? .zero) + reservation.amount
            guard next <= reservation.max else { return reservation }
            pending[name] = next
        }
        return nil
    }

    // MARK: - Reading and cleaning

    /// The counts of `keys` in the database (not the cache).
    func amounts(of keys: [CounterKey]) async throws -> [(CounterKey, CounterAmount)] {
        let names = keys.map(\.description)
        let rows = try await database.query(
            "SELECT key, trim_scale(amount)::text FROM warden_counter WHERE key = ANY(\(names))", "reading counts")
        var counts: [String: CounterAmount] = [:]
        for row in rows {
            let (key, amount) = try row.decode((String, String).self)
            counts[key] = CounterAmount(amount) ?? .zero
        }
        return keys.map { ($0, counts[$0.description] ?? .zero) }
    }

    /// Deletes the counts of ended windows, at most once a minute.
    private func cleanUpIfDue() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let due = lastCleanup.withLock { last in
            guard now - last >= 60 else { return false }
            last = now
            return true
        }
        guard due else { return }
        try await database.query("DELETE FROM warden_counter WHERE window_end <= \(now)", "deleting ended counts")
    }
}
