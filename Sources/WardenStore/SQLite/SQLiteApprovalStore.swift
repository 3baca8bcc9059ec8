public import Foundation
import GRDB
import WardenJSON

/// Held calls in SQLite.
public struct SQLiteApprovalStore: ApprovalStore {
    let database: DatabasePool

    public func create(_ approval: Approval) async throws -> Approval {
        var approval = approval
        approval.id = Secrets.newID(prefix: "a_")
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
                    stored.arguments, stored.rule, stored.message, SQLiteGrantStore.json(stored.approvers), stored.holder,
                    SQLiteGrantStore.format(stored.createdAt), SQLiteGrantStore.format(stored.expiresAt),
                ])
            guard let grant = stored.grant, try SQLiteGrantStore.fetch(id: grant, in: db)?.wasChanged(since: stored.createdAt) == true
            else { return stored }
            try Self.close(id: stored.id, status: .cancelled, by: nil, reason: "the grant was revoked or its token rotated", now: Date(), in: db)
            return try Self.fetch(id: stored.id, in: db) ?? stored
        }
    }

    public func approval(id: String) async throws -> Approval? {
        try await database.read { db in try Self.fetch(id: id, in: db) }
    }

    public func list(status: Approval.Status?, limit: Int) async throws -> [Approval] {
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

    public func decide(
        id: String, approve: Bool, by approver: String, token: String?, reason: String?, now: Date
    ) async throws -> Approval {
        let decided = try await database.write { db -> Result<Approval, StoreError> in
            guard let approval = try Self.fetch(id: id, in: db) else { throw StoreError(.notFound, "no approval \(id)") }
            switch approval.check(decisionBy: approver, at: now) {
            case .refused(let refusal):
                throw refusal
            case .expired(let refusal):
                // Closed as expired (committed), then refused below.
                try Self.close(id: id, status: .expired, by: nil, reason: "nobody decided in time", now: now, in: db)
                return .failure(refusal)
            case .open:
                try Self.close(id: id, status: approve ? .approved : .denied, by: approver, reason: reason, now: now, in: db)
                if let token {
                    try db.execute(sql: "UPDATE approval SET decided_by_token = ? WHERE id = ?", arguments: [token, id])
                }
                guard let decided = try Self.fetch(id: id, in: db) else { throw StoreError(.notFound, "no approval \(id)") }
                return .success(decided)
            }
        }
        return try decided.get()
    }

    public func close(id: String, as status: Approval.Status, reason: String, now: Date) async throws -> Approval? {
        try await database.write { db in
            try Self.close(id: id, status: status, by: nil, reason: reason, now: now, in: db)
            return try Self.fetch(id: id, in: db)
        }
    }

    public func withdraw(id: String, reason: String, now: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE approval SET status = 'cancelled', reason = ?, decided_at = ? WHERE id = ? AND status = 'approved'",
                arguments: [reason, SQLiteGrantStore.format(now), id])
        }
    }

    @discardableResult
    public func closeAbandoned(now: Date, isAlive: @Sendable (String) -> Bool) async throws -> Int {
        var closed = 0
        for approval in try await list(status: .pending, limit: 10_000) {
            guard let (status, reason) = approval.abandonment(now: now, isAlive: isAlive) else { continue }
            let changed = try await database.write { db in
                try Self.close(id: approval.id, status: status, by: nil, reason: reason, now: now, in: db)
            }
            if changed { closed += 1 }
        }
        return closed
    }

    /// Cancels every pending approval of grant `grant` (revoked, or its token replaced), in
    /// the transaction that changes the grant: none of its held calls can be approved after.
    static func cancelPending(ofGrant grant: String, because reason: String, now: Date, in db: Database) throws {
        try db.execute(
            sql: "UPDATE approval SET status = 'cancelled', reason = ?, decided_at = ? WHERE grant_id = ? AND status = 'pending'",
            arguments: [reason, SQLiteGrantStore.format(now), grant])
    }

    // MARK: - Rows

    /// Closes `id` if it is pending; whether it was.
    @discardableResult
    private static func close(
        id: String, status: Approval.Status, by approver: String?, reason: String?, now: Date, in db: Database
    ) throws -> Bool {
        try db.execute(
            sql: "UPDATE approval SET status = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
            arguments: [status.rawValue, approver, reason, SQLiteGrantStore.format(now), id])
        return db.changesCount == 1
    }

    private static func fetch(id: String, in db: Database) throws -> Approval? {
        try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE id = ?", arguments: [id]).flatMap(approval)
    }

    static func approval(_ row: Row) -> Approval? {
        approval(
            StoredApproval(
                id: row["id"], server: row["server"], tool: row["tool"], identity: row["identity"], grant: row["grant_id"],
                session: row["session"], requestID: row["request_id"], arguments: row["arguments"], rule: row["rule"],
                message: row["message"], approvers: row["approvers"], holder: row["holder"], createdAt: row["created_at"],
                expiresAt: row["expires_at"], status: row["status"], decidedBy: row["decided_by"], reason: row["reason"],
                decidedAt: row["decided_at"], decidedByToken: row["decided_by_token"]))
    }

    /// An approval's stored columns, as text, in any backend.
    struct StoredApproval {
        var id, server, tool, identity: String
        var grant: String?
        var session, requestID, arguments, rule, message, approvers, holder, createdAt, expiresAt, status: String
        var decidedBy, reason, decidedAt, decidedByToken: String?
    }

    /// The approval of stored columns; `nil` when one cannot be read.
    static func approval(_ row: StoredApproval) -> Approval? {
        guard let approvers = try? JSONReader.parse(row.approvers).arrayValue?.compactMap(\.stringValue),
            let created = SQLiteGrantStore.date(row.createdAt), let expires = SQLiteGrantStore.date(row.expiresAt),
            let status = Approval.Status(rawValue: row.status)
        else { return nil }
        return Approval(
            id: row.id, server: row.server, tool: row.tool, identity: row.identity, grant: row.grant, session: row.session,
            requestID: row.requestID, arguments: row.arguments, rule: row.rule, message: row.message, approvers: approvers,
            holder: row.holder, createdAt: created, expiresAt: expires, status: status, decidedBy: row.decidedBy, reason: row.reason,
            decidedAt: SQLiteGrantStore.date(row.decidedAt), decidedByToken: row.decidedByToken)
    }
}
