import Synchronization
public import WardenPolicy
public import WardenStore

/// A ``StateStore`` in this process's memory, for tests: every part behaves as the SQLite
/// store does (the shared conformance suite checks both), and any part can be made to fail
/// on demand, to test that callers fail closed.
///
/// ```swift
/// let store = InMemoryStore()
/// let issued = try await store.grants.create(label: "ci", servers: ["time"], policy: "/p.yaml")
/// store.breakDown([.counters])  // every counter operation now throws
/// ```
public final class InMemoryStore: StateStore {
    /// A part of the store, for ``breakDown(_:)``.
    public enum Part: Sendable, CaseIterable {
        case counters, audit, grants, approvals, adminTokens, intents
    }

    struct State {
        /// Grants in the order they were made, and the id of each active token's hash.
        var grants: [Grant] = []
        var grantTokens: [String: String] = [:]
        var approvals: [String: Approval] = [:]
        var adminTokens: [AdminToken] = []
        var adminSecrets: [String: String] = [:]
        var audit: [AuditLog.Row] = []
        var intents: [CallIntent] = []
        var broken: Set<Part> = []
        var isClosed = false
    }

    let state = Mutex(State())
    let ledger = InMemoryCounterLedger()
    let auditCheckpointPath: String?
    /// Whether ``ApprovalStore/changes()`` announces changes (as PostgreSQL does) or is `nil`
    /// (as SQLite's is).
    let announcesApprovals: Bool
    /// Whether its audit log keeps ``CallIntent``s (``AuditStore/intents``), as durable stores do.
    let keepsIntents: Bool
    let approvalListeners = ApprovalListeners()

    /// An empty store.
    /// - Parameters:
    ///   - checkpointPath: Where an ``AuditWriter`` keeps checkpoints of the audit log's head;
    ///     by default nowhere.
    ///   - announcesApprovals: Whether its approvals' ``ApprovalStore/changes()`` announce each
    ///     change, as PostgreSQL's do; `false` makes it `nil`, as SQLite's is. The default is true.
    ///   - keepsIntents: Whether its audit log keeps the intents of calls in flight, as the
    ///     durable stores do (a store in memory needs none: a crash loses it whole). The
    ///     default is false.
    public init(checkpointPath: String? = nil, announcesApprovals: Bool = true, keepsIntents: Bool = false) {
        self.auditCheckpointPath = checkpointPath
        self.announcesApprovals = announcesApprovals
        self.keepsIntents = keepsIntents
    }

    public var counters: any CounterLedger { Counters(store: self) }
    public var audit: any AuditStore { Audit(store: self) }
    public var grants: any GrantStore { Grants(store: self) }
    public var approvals: any ApprovalStore { Approvals(store: self) }
    public var adminTokens: any AdminTokenStore { AdminTokens(store: self) }

    /// Throws while any part is broken, or once the store is closed.
    public func checkReadable() async throws {
        try state.withLock { state in
            guard !state.isClosed && state.broken.isEmpty else { throw StoreError(.unavailable, "the in-memory store is broken") }
        }
    }

    /// Closes the store: every operation throws after.
    public func close() async throws {
        state.withLock { $0.isClosed = true }
    }

    /// Makes every operation on `parts` throw a ``StoreError`` (`unavailable`) until ``repair()``.
    public func breakDown(_ parts: Set<Part> = Set(Part.allCases)) {
        state.withLock { $0.broken.formUnion(parts) }
    }

    /// Makes every part work again.
    public func repair() {
        state.withLock { $0.broken.removeAll() }
    }

    /// Changes the audit log's stored rows directly, as someone with write access to the
    /// store could: to test that ``AuditStore/verify(against:)`` finds it.
    public func tamperWithAudit(_ change: (inout [AuditLog.Row]) -> Void) {
        state.withLock { change(&$0.audit) }
    }

    /// Runs `body` on the state, unless `part` is broken or the store closed.
    func access<T>(_ part: Part, _ body: (inout State) throws -> T) throws -> T {
        try state.withLock { state in
            guard !state.isClosed else { throw StoreError(.unavailable, "the in-memory store is closed") }
            guard !state.broken.contains(part) else { throw StoreError(.unavailable, "the in-memory store's \(part) are broken on purpose") }
            return try body(&state)
        }
    }
}
