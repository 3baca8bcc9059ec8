public import Foundation
import GRDB
import WardenJSON

/// Held calls in SQLite. A pending approval changes status once: the first decision (or
/// expiry, or cancellation) wins, however many processes try at the same moment.
public struct ApprovalStore: Sendable {
    let database: DatabasePool

    /// Why an approval operation failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What went wrong.
        public enum Kind: Sendable {
            /// No approval has this id.
            case notFound
            /// It was decided (or closed) already.
            case alreadyClosed
            /// The approver is not among those the policy names.
            case notAnApprover
        }

        public var kind: Kind
        public var description: String

        public init(kind: Kind, description: String) {
            self.kind = kind
            self.description = description
        }
    }

    /// Stores a new pending approval, with a fresh id, and returns it. If its grant was revoked
    /// or its token rotated after the approval's `createdAt` (when the call was decided), it is
    /// stored cancelled instead, in the same transaction: a revocation that came first wins.
    public func create(_ approval: Approval) async throws -> Approval {
        var approval = approval
        approval.id = "a_" + GrantStore.randomString(bytes: 6)
        approval.status = .pending
        let stored = approval
        return try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO approval (id, server, tool, identity, grant_id, session, request_id, arguments, rule,
                        message, approvers, holder, created_at, expires_at, status)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
                    """,
                arguments: [
                    stored.id, stored.server, stored.tool, stored.identity, stored.grant, stored.session, stored.requestID,
                    stored.arguments, stored.rule, stored.message, GrantStore.json(stored.approvers), stored.holder,
                    GrantStore.format(stored.createdAt), GrantStore.format(stored.expiresAt),
                ])
            guard let grant = stored.grant, try GrantStore.wasChanged(id: grant, since: stored.createdAt, in: db) else { return stored }
            try Self.close(id: stored.id, status: .cancelled, by: nil, reason: "the grant was revoked or its token rotated", now: Date(), in: db)
            return try Self.fetch(id: stored.id, in: db) ?? stored
        }
    }

    /// The approval `id`, or `nil`.
    public func approval(id: String) async throws -> Approval? {
        try await database.read { db in try Self.fetch(id: id, in: db) }
    }

    /// Approvals, newest first: only those with `status` when given.
    public func list(status: Approval.Status? = nil, limit: Int = 100) async throws -> [Approval] {
        try await database.read { db in
            let rows =
                if let status {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM approval WHERE status = ? ORDER BY created_at DESC, id LIMIT ?",
                        arguments: [status.rawValue, limit])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM approval ORDER BY created_at DESC, id LIMIT ?", arguments: [limit])
                }
            return rows.compactMap(Self.approval)
        }
    }

    /// Approves or denies a pending approval as `approver`, through the admin token `token` if
    /// one was used. Exactly one of several concurrent decisions wins; the others fail with
    /// ``Failure/Kind/alreadyClosed``.
    public func decide(
        id: String, approve: Bool, by approver: String, token: String? = nil, reason: String?, now: Date = Date()
    ) async throws -> Approval {
        let decided = try await database.write { db -> Approval? in
            guard let approval = try Self.fetch(id: id, in: db) else {
                throw Failure(kind: .notFound, description: "no approval \(id)")
            }
            guard approval.status == .pending else {
                throw Failure(kind: .alreadyClosed, description: Self.closedDescription(approval))
            }
            guard now <= approval.expiresAt else {
                // Closed as expired (committed), then refused below.
                try Self.close(id: id, status: .expired, by: nil, reason: "nobody decided in time", now: now, in: db)
                return nil
            }
            guard approval.mayBeDecided(by: approver) else {
                throw Failure(
                    kind: .notAnApprover,
                    description: "\(approver) may not decide \(id): the policy names \(approval.approvers.joined(separator: ", "))")
            }
            try Self.close(id: id, status: approve ? .approved : .denied, by: approver, reason: reason, now: now, in: db)
            if let token {
                try db.execute(sql: "UPDATE approval SET decided_by_token = ? WHERE id = ?", arguments: [token, id])
            }
            return try Self.fetch(id: id, in: db)
        }
        guard let decided else { throw Failure(kind: .alreadyClosed, description: "approval \(id) has expired") }
        return decided
    }

    /// Closes a pending approval without an approver's decision (`expired`, `cancelled`);
    /// returns the approval as it now stands, which may be a decision that came first.
    public func close(id: String, as status: Approval.Status, reason: String, now: Date = Date()) async throws -> Approval? {
        try await database.write { db in
            try Self.close(id: id, status: status, by: nil, reason: reason, now: now, in: db)
            return try Self.fetch(id: id, in: db)
        }
    }

    /// Withdraws an approval given to a call that must not run after all (its grant or its
    /// approver's token was revoked before the call was forwarded): it is closed as cancelled.
    public func withdraw(id: String, reason: String, now: Date = Date()) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE approval SET status = 'cancelled', reason = ?, decided_at = ? WHERE id = ? AND status = 'approved'",
                arguments: [reason, GrantStore.format(now), id])
        }
    }

    /// Cancels every pending approval of grant `grant` (revoked, or its token replaced), in
    /// the transaction that changes the grant: none of its held calls can be approved after.
    static func cancelPending(ofGrant grant: String, because reason: String, now: Date, in db: Database) throws {
        try db.execute(
            sql: "UPDATE approval SET status = 'cancelled', reason = ?, decided_at = ? WHERE grant_id = ? AND status = 'pending'",
            arguments: [reason, GrantStore.format(now), grant])
    }

    /// Closes the pending approvals nobody will close: those whose holder (a gateway process on
    /// this host) is gone, as cancelled, and those a minute past their expiry (a holder on
    /// another host, or a reused pid), as expired. Returns how many it closed.
    @discardableResult
    public func closeAbandoned(now: Date = Date(), isAlive: @Sendable (String) -> Bool = Self.isHolderAlive) async throws -> Int {
        let pending = try await list(status: .pending, limit: 10_000)
        var closed = 0
        for approval in pending {
            let (status, reason): (Approval.Status, String)
            if !isAlive(approval.holder) {
                (status, reason) = (.cancelled, "the gateway holding the call stopped")
            } else if now.timeIntervalSince(approval.expiresAt) > 60 {
                (status, reason) = (.expired, "nobody decided in time, and the gateway holding the call did not close it")
            } else {
                continue
            }
            let changed = try await database.write { db in
                try Self.close(id: approval.id, status: status, by: nil, reason: reason, now: now, in: db)
            }
            if changed { closed += 1 }
        }
        return closed
    }

    /// This process as a holder: `pid@host`.
    public static let currentHolder = "\(getpid())@\(ProcessInfo.processInfo.hostName)"

    /// Whether the holder `pid@host` is running: always assumed for other hosts.
    public static func isHolderAlive(_ holder: String) -> Bool {
        let parts = holder.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let pid = Int32(parts[0]) else { return false }
        guard parts[1] == ProcessInfo.processInfo.hostName else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    // MARK: - Rows

    /// Closes `id` if it is pending; whether it was.
    @discardableResult
    private static func close(
        id: String, status: Approval.Status, by approver: String?, reason: String?, now: Date, in db: Database
    ) throws -> Bool {
        try db.execute(
            sql: "UPDATE approval SET status = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
            arguments: [status.rawValue, approver, reason, GrantStore.format(now), id])
        return db.changesCount == 1
    }

    private static func closedDescription(_ approval: Approval) -> String {
        let by = approval.decidedBy.map { " by \($0)" } ?? ""
        return "approval \(approval.id) is already \(approval.status.rawValue)\(by)"
    }

    private static func fetch(id: String, in db: Database) throws -> Approval? {
        try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE id = ?", arguments: [id]).flatMap(approval)
    }

    private static func date(_ text: String?) -> Date? {
        text.flatMap { try? Date($0, strategy: AuditRecord.timeFormat) }
    }

    static func approval(_ row: Row) -> Approval? {
        guard let approvers = try? JSONReader.parse(row["approvers"] as String).arrayValue?.compactMap(\.stringValue),
            let created = date(row["created_at"]), let expires = date(row["expires_at"]),
            let status = Approval.Status(rawValue: row["status"])
        else { return nil }
        return Approval(
            id: row["id"], server: row["server"], tool: row["tool"], identity: row["identity"], grant: row["grant_id"],
            session: row["session"], requestID: row["request_id"], arguments: row["arguments"], rule: row["rule"],
            message: row["message"], approvers: approvers, holder: row["holder"], createdAt: created, expiresAt: expires,
            status: status, decidedBy: row["decided_by"], reason: row["reason"], decidedAt: date(row["decided_at"]),
            decidedByToken: row["decided_by_token"])
    }
}
