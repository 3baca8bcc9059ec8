import Foundation
public import WardenJSON

/// An increment a decision asks to add to a counter, allowed only while the counter stays
/// at or under `max`.
public struct CounterReservation: Sendable, Hashable {
    /// The count to add to.
    public var key: CounterKey
    /// How much to add: 1 for a call, or the value of `increment_from`.
    public var amount: CounterAmount
    /// The most the count may reach.
    public var max: CounterAmount
    /// The limit rule this comes from.
    public var rule: JSONPointer

    public init(key: CounterKey, amount: CounterAmount, max: CounterAmount, rule: JSONPointer) {
        self.key = key
        self.amount = amount
        self.max = max
        self.rule = rule
    }
}

/// The counts a policy evaluation reads.
public protocol CounterSnapshot: Sendable {
    /// The current count of `key`; zero when it was never counted.
    func value(of key: CounterKey) -> CounterAmount
}

extension Dictionary: CounterSnapshot where Key == CounterKey, Value == CounterAmount {
    public func value(of key: CounterKey) -> CounterAmount {
        self[key] ?? 0
    }
}

/// Where counts are kept: atomic reserve and roll back, shared by every evaluation that
/// uses it. Implementations: ``InMemoryCounterLedger`` here; SQLite and PostgreSQL in the store.
public protocol CounterLedger: Sendable {
    /// The current counts of `keys`.
    func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount]

    /// Adds every reservation atomically, or none of them: if any counter would exceed its
    /// `max`, nothing is added and that reservation is returned.
    func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation?

    /// Takes back reservations made earlier (the call failed upstream, or was refused on approval).
    func rollBack(_ reservations: [CounterReservation]) async throws

    /// Forgets what is kept for `session`, which has ended. Ledgers that keep nothing per
    /// session have nothing to do.
    func endSession(_ session: String)
}

extension CounterLedger {
    public func endSession(_ session: String) {}
}
