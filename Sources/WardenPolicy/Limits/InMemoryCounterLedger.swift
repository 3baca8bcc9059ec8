import Foundation
import Synchronization

/// A ``CounterLedger`` in memory: for `warden policy eval`/`test`, and for the counts of
/// sessions, which never leave their process (``SessionLocalCounterLedger``).
///
/// Once it holds more than 4096 counts, those of windows that have ended are dropped.
public final class InMemoryCounterLedger: CounterLedger {
    private let counts = Mutex<[CounterKey: CounterAmount]>([:])

    public init() {}

    public func snapshot(of keys: [CounterKey]) -> [CounterKey: CounterAmount] {
        counts.withLock { counts in
            var result: [CounterKey: CounterAmount] = [:]
            for key in keys {
                result[key] = counts[key] ?? 0
            }
            return result
        }
    }

    public func reserve(_ reservations: [CounterReservation]) -> CounterReservation? {
        counts.withLock { counts in
            var pending: [CounterKey: CounterAmount] = [:]
            for reservation in reservations {
                let current = pending[reservation.key] ?? counts[reservation.key] ?? 0
                let next = current + reservation.amount
                guard next <= reservation.max else { return reservation }
                pending[reservation.key] = next
            }
            if counts.count > 4096, let newest = reservations.map(\.key.windowStart).max() {
                counts = counts.filter { $0.key.windowEnd > newest }
            }
            counts.merge(pending) { _, new in new }
            return nil
        }
    }

    public func rollBack(_ reservations: [CounterReservation]) {
        counts.withLock { counts in
            for reservation in reservations {
                guard let current = counts[reservation.key] else { continue }
                counts[reservation.key] = Swift.max(0, current - reservation.amount)
            }
        }
    }

    /// Drops every count whose key matches.
    public func removeAll(where matches: (CounterKey) -> Bool) {
        counts.withLock { counts in counts = counts.filter { !matches($0.key) } }
    }
}
