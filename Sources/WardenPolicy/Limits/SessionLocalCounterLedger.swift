/// A ``CounterLedger`` that keeps session-scoped counts in this process's memory and passes
/// every other count to a shared ledger.
///
/// A session lives in one gateway process (a `warden run`, or one HTTP session of
/// `warden serve`), so no other process can ever count under its key: keeping those counts in
/// memory is exact, and spares each call a store transaction. Counts of grants, identities,
/// servers and the gateway as a whole go to the shared ledger, which keeps them exact across
/// processes and restarts.
///
/// A call with counts on both sides reserves its session counts first and takes them back if
/// the shared ledger refuses; a concurrent call of the same session may meet those counts
/// for that moment, and is then refused as if they were kept.
public final class SessionLocalCounterLedger<Shared: CounterLedger>: CounterLedger {
    /// Where counts of other scopes are kept.
    public let shared: Shared
    private let local = InMemoryCounterLedger()

    public init(shared: Shared) {
        self.shared = shared
    }

    /// Drops the counts of a session that has ended.
    public func endSession(_ session: String) {
        local.removeAll { $0.scope == .session && $0.subject == session }
    }

    public func snapshot(of keys: [CounterKey]) async throws -> [CounterKey: CounterAmount] {
        let (sessionKeys, sharedKeys) = Self.split(keys)
        guard !sharedKeys.isEmpty else { return local.snapshot(of: sessionKeys) }
        guard !sessionKeys.isEmpty else { return try await shared.snapshot(of: sharedKeys) }
        return local.snapshot(of: sessionKeys).merging(try await shared.snapshot(of: sharedKeys)) { _, new in new }
    }

    public func reserve(_ reservations: [CounterReservation]) async throws -> CounterReservation? {
        let (sessionPart, sharedPart) = Self.split(reservations)
        guard !sessionPart.isEmpty else { return sharedPart.isEmpty ? nil : try await shared.reserve(sharedPart) }
        if let refused = local.reserve(sessionPart) { return refused }
        guard !sharedPart.isEmpty else { return nil }
        var kept = false
        defer { if !kept { local.rollBack(sessionPart) } }  // the shared ledger refused, or failed
        let refused = try await shared.reserve(sharedPart)
        kept = refused == nil
        return refused
    }

    public func rollBack(_ reservations: [CounterReservation]) async throws {
        let (sessionPart, sharedPart) = Self.split(reservations)
        local.rollBack(sessionPart)
        if !sharedPart.isEmpty { try await shared.rollBack(sharedPart) }
    }

    /// Keys or reservations split into the session-scoped ones and the others.
    static func split(_ keys: [CounterKey]) -> (session: [CounterKey], shared: [CounterKey]) {
        split(keys) { $0 }
    }

    static func split(_ reservations: [CounterReservation]) -> (session: [CounterReservation], shared: [CounterReservation]) {
        split(reservations) { $0.key }
    }

    @inline(__always)  // specialized in each caller: generic, it cost a metadata lookup a call
    private static func split<Item>(_ items: [Item], by key: (Item) -> CounterKey) -> (session: [Item], shared: [Item]) {
        // Most calls count on one side only: that side is the array given, not a copy.
        if items.allSatisfy({ key($0).scope != .session }) { return ([], items) }
        if items.allSatisfy({ key($0).scope == .session }) { return (items, []) }
        return (items.filter { key($0).scope == .session }, items.filter { key($0).scope != .session })
    }
}
