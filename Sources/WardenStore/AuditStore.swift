/// Where the hash-chained audit log (``AuditLog``) is kept. Appends are linear however many
/// processes write: each batch is chained after the head it finds, in one step.
public protocol AuditStore: Sendable {
    /// Appends records, in order, in one step, and returns the chain's new head (`nil` for no
    /// records). A record naming a ``CallIntent`` (``AuditRecord/intent``) finishes it: the
    /// intent is gone once, never before, the record is durable.
    @discardableResult
    func append(_ records: [AuditRecord]) async throws -> AuditLog.Head?

    /// Where the write-ahead records of calls being forwarded are kept (``CallIntent``); `nil`
    /// (the default) for a store that does not outlive its process.
    var intents: (any CallIntentStore)? { get }

    /// Entries matching `filter`, oldest first (see ``AuditLog/Filter/matches(_:)``).
    func entries(_ filter: AuditLog.Filter) async throws -> [AuditLog.Entry]

    /// Walks the whole chain with an ``AuditLog/Verifier`` and reports the first entry that
    /// does not fit it, its stored columns or a checkpoint.
    ///
    /// Read the checkpoints before calling: the log only grows meanwhile, never shrinks.
    func verify(against checkpoints: [AuditCheckpoint]) async throws -> AuditLog.Verification

    /// The hash of entry `sequence`, or `nil` if the log has no such entry (to check a
    /// checkpoint before replacing it).
    func hash(of sequence: Int64) async throws -> String?

    /// Where checkpoints of this log's head are kept by default (``AuditWriter`` writes them
    /// there, `warden audit verify` reads them); `nil` when the store has no such place.
    var checkpointPath: String? { get }
}

extension AuditStore {
    public var intents: (any CallIntentStore)? { nil }

    /// Every entry, oldest first.
    public func entries() async throws -> [AuditLog.Entry] {
        try await entries(AuditLog.Filter())
    }

    /// Walks the whole chain without checkpoints.
    public func verify() async throws -> AuditLog.Verification {
        try await verify(against: [])
    }
}
