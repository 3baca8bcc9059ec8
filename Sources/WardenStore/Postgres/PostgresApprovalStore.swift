public import Foundation
import Logging
import PostgresNIO

/// Held calls in PostgreSQL. Every change of an approval (created, decided, closed,
/// withdrawn, cancelled) is announced with `pg_notify` in the transaction that makes it, so
/// every instance's ``changes()`` sees it when it commits.
public struct PostgresApprovalStore: ApprovalStore {
    let database: PostgresDatabase
    let announcer: ChannelListener

    /// The channel approvals are announced on; the payload is the approval's id.
    static let channel = "warden_approvals"

    public func create(_ approval: Approval) async throws -> Approval {
        var approval = approval
        approval.id = Secrets.newID(prefix: "a_")
        approval.status = .pending
        let stored = approval
        return try await database.transaction("creating an approval") { [logger = database.logger] connection in
            try await connection.query(
                """
                INSERT INTO warden_approval (id, server, tool, identity, grant_id, session, request_id, arguments, rule,
                    message, approvers, holder, created_at, expires_at, status)
                VALUES (\(stored.id), \(stored.server), \(stored.tool), \(stored.identity), \(stored.grant), \(stored.session),
                    \(stored.requestID), \(stored.arguments), \(stored.rule), \(stored.message), \(SQLiteGrantStore.json(stored.approvers)),
                    \(stored.holder), \(SQLiteGrantStore.format(stored.createdAt)), \(SQLiteGrantStore.format(stored.expiresAt)), 'pending')
                """, logger: logger)
            try await Self.announce(stored.id, on: connection, logger: logger)
            guard let grant = stored.grant else { return stored }
            let changed = try await connection.query(
                "SELECT \(unescaped: PostgresGrantStore.columns) FROM warden_grant WHERE id = \(grant)", logger: logger
            ).collect().first.flatMap(PostgresGrantStore.grant)?.wasChanged(since: stored.createdAt)
            guard changed == true else { return stored }
            try await Self.close(
                id: stored.id, status: .cancelled, by: nil, reason: "the grant was revoked or its token rotated", now: Date(),
                on: connection, logger: logger)
            return try await Self.fetch(id: stored.id, on: connection, logger: logger) ?? stored
        }
    }

    public func approval(id: String) async throws -> Approval? {
        try await database.query("SELECT \(unescaped: Self.columns) FROM warden_approval WHERE id = \(id)", "reading an approval")
            .first.flatMap(Self.approval)
    }

    public func list(status: Approval.Status?, limit: Int) async throws -> [Approval] {
        let rows =
            if let status {
                try await database.query(
                    """
                    SELECT \(unescaped: Self.columns) FROM warden_approval WHERE status = \(status.rawValue)
                    ORDER BY created_at DESC, id LIMIT \(limit)
                    """, "listing approvals")
            } else {
                try await database.query(
                    "SELECT \(unescaped: Self.columns) FROM warden_approval ORDER BY created_at DESC, id LIMIT \(limit)", "listing approvals")
            }
        return rows.compactMap(Self.approval)
    }

    public func decide(
        id: String, approve: Bool, by approver: String, token: String?, reason: String?, now: Date
    ) async throws -> Approval {
        let decided = try await database.transaction("deciding an approval") { [logger = database.logger] connection -> Result<Approval, StoreError> in
            // The row's lock makes concurrent decisions wait: the first to commit wins.
            guard let approval = try await Self.fetch(id: id, on: connection, logger: logger, forUpdate: true) else {
                throw StoreError(.notFound, "no approval \(id)")
            }
            switch approval.check(decisionBy: approver, at: now) {
            case .refused(let refusal):
                throw refusal
            case .expired(let refusal):
                // Closed as expired (committed), then refused below.
                try await Self.close(id: id, status: .expired, by: nil, reason: "nobody decided in time", now: now, on: connection, logger: logger)
                return .failure(refusal)
            case .open:
                try await Self.close(
                    id: id, status: approve ? .approved : .denied, by: approver, reason: reason, now: now, token: token, on: connection,
                    logger: logger)
                guard let decided = try await Self.fetch(id: id, on: connection, logger: logger) else {
                    throw StoreError(.notFound, "no approval \(id)")
                }
                return .success(decided)
            }
        }
        return try decided.get()
    }

    public func close(id: String, as status: Approval.Status, reason: String, now: Date) async throws -> Approval? {
        try await database.transaction("closing an approval") { [logger = database.logger] connection in
            try await Self.close(id: id, status: status, by: nil, reason: reason, now: now, on: connection, logger: logger)
            return try await Self.fetch(id: id, on: connection, logger: logger)
        }
    }

    public func withdraw(id: String, reason: String, now: Date) async throws {
        try await database.query(
            """
            WITH changed AS (
                UPDATE warden_approval SET status = 'cancelled', reason = \(reason), decided_at = \(SQLiteGrantStore.format(now))
                WHERE id = \(id) AND status = 'approved' RETURNING id)
            SELECT pg_notify(\(Self.channel), id) FROM changed
            """, "withdrawing an approval")
    }

    @discardableResult
    public func closeAbandoned(now: Date, isAlive: @Sendable (String) -> Bool) async throws -> Int {
        var closed = 0
        for approval in try await list(status: .pending, limit: 10_000) {
            guard let (status, reason) = approval.abandonment(now: now, isAlive: isAlive) else { continue }
            let changed = try await database.transaction("closing an abandoned approval") { [logger = database.logger] connection in
                try await Self.close(id: approval.id, status: status, by: nil, reason: reason, now: now, on: connection, logger: logger)
            }
            if changed { closed += 1 }
        }
        return closed
    }

    public func changes() -> AsyncStream<String>? {
        announcer.subscribe()
    }

    /// Cancels every pending approval of grant `grant` (revoked, or its token replaced), in
    /// the transaction that changes the grant, and announces each.
    static func cancelPending(ofGrant grant: String, because reason: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            WITH changed AS (
                UPDATE warden_approval SET status = 'cancelled', reason = \(reason), decided_at = \(SQLiteGrantStore.format(now))
                WHERE grant_id = \(grant) AND status = 'pending' RETURNING id)
            SELECT pg_notify(\(channel), id) FROM changed
            """, logger: logger)
    }

    // MARK: - Rows

    /// Closes `id` if it is pending, and announces it; whether it was.
    @discardableResult
    private static func close(
        id: String, status: Approval.Status, by approver: String?, reason: String?, now: Date, token: String? = nil,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let rows = try await connection.query(
            """
            WITH changed AS (
                UPDATE warden_approval SET status = \(status.rawValue), decided_by = \(approver), reason = \(reason),
                    decided_at = \(SQLiteGrantStore.format(now)), decided_by_token = coalesce(\(token), decided_by_token)
                WHERE id = \(id) AND status = 'pending' RETURNING id)
            SELECT pg_notify(\(channel), id) FROM changed
            """, logger: logger
        ).collect()
        return rows.count == 1
    }

    private static func announce(_ id: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(channel), \(id))", logger: logger)
    }

    private static func fetch(id: String, on connection: PostgresConnection, logger: Logger, forUpdate: Bool = false) async throws -> Approval? {
        try await connection.query(
            "SELECT \(unescaped: columns) FROM warden_approval WHERE id = \(id)\(unescaped: forUpdate ? " FOR UPDATE" : "")", logger: logger
        ).collect().first.flatMap(approval)
    }

    /// The columns of an approval, in the order ``approval(_:)`` reads them.
    static let columns = """
        id, server, tool, identity, grant_id, session, request_id, arguments, rule, message, approvers, holder, created_at,
        expires_at, status, decided_by, reason, decided_at, decided_by_token
        """

    static func approval(_ row: PostgresRow) -> Approval? {
        let columns = row.makeRandomAccess()
        func text(_ index: Int) -> String? { try? columns[index].decode(String?.self) }
        guard let id = text(0), let server = text(1), let tool = text(2), let identity = text(3), let session = text(5),
            let requestID = text(6), let arguments = text(7), let rule = text(8), let message = text(9), let approvers = text(10),
            let holder = text(11), let created = text(12), let expires = text(13), let status = text(14)
        else { return nil }
        return SQLiteApprovalStore.approval(
            .init(
                id: id, server: server, tool: tool, identity: identity, grant: text(4), session: session, requestID: requestID,
                arguments: arguments, rule: rule, message: message, approvers: approvers, holder: holder, createdAt: created,
                expiresAt: expires, status: status, decidedBy: text(15), reason: text(16), decidedAt: text(17),
                decidedByToken: text(18)))
    }
}
