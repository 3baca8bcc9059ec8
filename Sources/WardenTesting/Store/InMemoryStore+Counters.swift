import WardenPolicy
import WardenStore

extension InMemoryStore {
    /// The counters: an ``InMemoryCounterLedger`` that fails while broken.
    struct Counters: CounterLedger {
        let store: InMemoryStore

        func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount] {
            try store.access(.counters) { _ in store.ledger.snapshot(of: keys) }
        }

        func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation? {
            try store.access(.counters) { _ in store.ledger.reserve(reservations) }
        }

        func rollBack(_ reservations: [CounterReservation]) async throws {
            try store.access(.counters) { _ in store.ledger.rollBack(reservations) }
        }
    }
}
