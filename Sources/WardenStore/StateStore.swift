public import WardenPolicy

/// Warden's state: counters, the audit log, grants, approvals and admin tokens, kept by one
/// backend. Open one from its ``StoreConfiguration``; ``SQLiteStore`` is the embedded one.
///
/// ```swift
/// let store = try await StoreConfiguration.sqlite(path: "warden.db").open()
/// let grant = try await store.grants.authenticate(token: token)
/// ```
public protocol StateStore: Sendable {
    /// Where limits are counted across sessions and processes: exact under concurrency.
    var counters: any CounterLedger { get }
    /// The hash-chained audit log.
    var audit: any AuditStore { get }
    /// The grants: bearer tokens bound to servers and a policy.
    var grants: any GrantStore { get }
    /// The held calls waiting for, or given, a decision.
    var approvals: any ApprovalStore { get }
    /// The admin API's tokens.
    var adminTokens: any AdminTokenStore { get }

    /// Throws if the store cannot be read now (for readiness checks).
    func checkReadable() async throws

    /// Releases the store's connections; nothing may use it after.
    func close() async throws
}

extension StateStore {
    /// A new ledger over ``counters`` that keeps each session's counts in this process's
    /// memory (a ``SessionLocalCounterLedger``): what a gateway counts with.
    public func sessionLocalCounters() -> any CounterLedger {
        func wrap(_ shared: some CounterLedger) -> any CounterLedger { SessionLocalCounterLedger(shared: shared) }
        return wrap(counters)
    }
}
