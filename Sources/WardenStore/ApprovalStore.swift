public import Foundation

/// Where held calls are kept and decided. A pending approval changes status once: the first
/// decision (or expiry, or cancellation) wins, however many processes try at the same moment.
public protocol ApprovalStore: Sendable {
    /// Stores a new pending approval, with a fresh id, and returns it. If its grant was revoked
    /// or its token rotated after the approval's `createdAt` (when the call was decided), it is
    /// stored cancelled instead, in the same step: a revocation that came first wins.
    func create(_ approval: Approval) async throws -> Approval

    /// The approval `id`, or `nil`.
    func approval(id: String) async throws -> Approval?

    /// Approvals, newest first: only those with `status` when given; at most `limit`.
    func list(status: Approval.Status?, limit: Int) async throws -> [Approval]

    /// Approves or denies a pending approval as `approver`, through the admin token `token` if
    /// one was used (see ``Approval/check(decisionBy:at:)``). Exactly one of several
    /// concurrent decisions wins; the others fail with ``StoreError/Code/alreadyClosed``.
    /// - Throws: ``StoreError``: `notFound`, `alreadyClosed` (also when it expired, which
    ///   closes it as expired), `notAnApprover`.
    func decide(id: String, approve: Bool, by approver: String, token: String?, reason: String?, now: Date) async throws -> Approval

    /// Closes a pending approval without an approver's decision (`expired`, `cancelled`);
    /// returns the approval as it now stands, which may be a decision that came first.
    func close(id: String, as status: Approval.Status, reason: String, now: Date) async throws -> Approval?

    /// Withdraws an approval given to a call that must not run after all (its grant or its
    /// approver's token was revoked before the call was forwarded): it is closed as cancelled.
    func withdraw(id: String, reason: String, now: Date) async throws

    /// Closes the pending approvals nobody will close, as ``Approval/abandonment(now:isAlive:)``
    /// says; returns how many it closed.
    @discardableResult
    func closeAbandoned(now: Date, isAlive: @Sendable (String) -> Bool) async throws -> Int

    /// The ids of approvals as they are created, decided or closed by any process, each time
    /// the backend announces one (PostgreSQL: LISTEN/NOTIFY), for as long as the caller
    /// iterates; `nil` when the backend cannot announce them and holders must poll (SQLite).
    func changes() -> AsyncStream<String>?
}

extension ApprovalStore {
    /// No announcements: holders poll.
    public func changes() -> AsyncStream<String>? { nil }

    /// The newest approvals (at most 100), only those with `status` when given.
    public func list(status: Approval.Status? = nil) async throws -> [Approval] {
        try await list(status: status, limit: 100)
    }

    /// Approves or denies a pending approval now.
    public func decide(id: String, approve: Bool, by approver: String, token: String? = nil, reason: String?) async throws -> Approval {
        try await decide(id: id, approve: approve, by: approver, token: token, reason: reason, now: Date())
    }

    /// Closes a pending approval now.
    public func close(id: String, as status: Approval.Status, reason: String) async throws -> Approval? {
        try await close(id: id, as: status, reason: reason, now: Date())
    }

    /// Withdraws an approved approval now.
    public func withdraw(id: String, reason: String) async throws {
        try await withdraw(id: id, reason: reason, now: Date())
    }

    /// Closes, now, the pending approvals whose holder on this host is gone or that are a
    /// minute past their expiry.
    @discardableResult
    public func closeAbandoned() async throws -> Int {
        try await closeAbandoned(now: Date(), isAlive: Approval.isHolderAlive)
    }
}
