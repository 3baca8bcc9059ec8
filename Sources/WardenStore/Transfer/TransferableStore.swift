/// A store whose whole state can be read out and written into another, verbatim: what
/// `warden store migrate` needs of a backend. ``StoreMigration`` drives it.
///
/// Imports write rows as they are (ids, token hashes, times, audit sequence numbers and
/// hashes), each call in one transaction.
public protocol TransferableStore: StateStore {
    /// How many grants, admin tokens, approvals and audit entries the store holds.
    func transferContents() async throws -> StoreTransfer.Contents

    /// Every grant, revoked ones included, oldest first.
    func exportGrants() async throws -> [StoreTransfer.GrantRow]

    /// Every admin token, revoked ones included, oldest first.
    func exportAdminTokens() async throws -> [StoreTransfer.AdminTokenRow]

    /// Every approval, whatever its status, oldest first.
    func exportApprovals() async throws -> [Approval]

    /// At most `limit` audit entries after entry `sequence`, oldest first, as stored.
    func exportAudit(after sequence: Int64, limit: Int) async throws -> [AuditLog.Row]

    /// Writes grants, admin tokens and approvals, all or none, in one transaction.
    /// - Throws: ``StoreError`` (`invalidRequest`) when the store already holds any of them.
    func importRecords(_ records: StoreTransfer.Records) async throws

    /// Appends audit entries as they are, all or none, in one transaction, after checking
    /// that they continue the store's chain (``StoreTransfer/checkContinuity(of:after:)``).
    func importAudit(_ rows: [AuditLog.Row]) async throws
}
