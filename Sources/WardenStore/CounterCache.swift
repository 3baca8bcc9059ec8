import Foundation
import Synchronization
import WardenPolicy

/// The counts a store-backed ledger last read or wrote, by key: what its snapshots return
/// without a query. Another process may have counted more since; a reservation re-checks
/// every `max` in the store, and refreshes these on a refusal.
final class CounterCache: Sendable {
    private let counts = Mutex<[CounterKey: CounterAmount]>([:])

    /// The cached counts of `keys`, and the keys not cached.
    func cached(_ keys: [CounterKey]) -> (found: [CounterKey: CounterAmount], missing: [CounterKey]) {
        counts.withLock { cache in
            var found: [CounterKey: CounterAmount] = [:]
            let missing = keys.filter { key in
                guard let amount = cache[key] else { return true }
                found[key] = amount
                return false
            }
            return (found, missing)
        }
    }

    /// Caches counts read or written; forgets ended windows once the cache grows.
    func remember(_ amounts: [(CounterKey, CounterAmount)]) {
        counts.withLock { cache in
            if cache.count > 4096 {
                let now = Int64(Date().timeIntervalSince1970)
                cache = cache.filter { $0.key.windowEnd > now }
            }
            for (key, amount) in amounts { cache[key] = amount }
        }
    }

    /// Cached counts completed with counts just read (which are cached too).
    func merged(_ found: [CounterKey: CounterAmount], _ read: [(CounterKey, CounterAmount)]) -> [CounterKey: CounterAmount] {
        remember(read)
        return found.merging(read) { _, new in new }
    }

    /// Runs `body` on the cached counts, under the cache's lock.
    func withCounts<Result>(_ body: (inout [CounterKey: CounterAmount]) -> Result) -> Result {
        counts.withLock { body(&$0) }
    }
}
