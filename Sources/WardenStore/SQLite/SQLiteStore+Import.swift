import GRDB

/// The SQLite store as a source and a destination of ``StoreMigration``: rows read and
/// written as they are stored.
extension SQLiteStore: TransferableStore {
    public func transferContents() async throws -> StoreTransfer.Contents {
        try await database.read { db in
            func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
            return StoreTransfer.Contents(
                grants: try count(#""grant""#), adminTokens: try count("admin_token"), approvals: try count("approval"),
                auditEntries: try count("audit"))
        }
    }

    public func exportGrants() async throws -> [StoreTransfer.GrantRow] {
        try await database.read { db in
            try Row.fetchAll(db, sql: #"SELECT * FROM "grant" ORDER BY created_at, id"#).map { row in
                guard let grant = SQLiteGrantStore.grant(row) else { throw Self.unreadable("grant", row["id"]) }
                return StoreTransfer.GrantRow(grant: grant, tokenHash: row["token_hash"])
            }
        }
    }

    public func exportAdminTokens() async throws -> [StoreTransfer.AdminTokenRow] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM admin_token ORDER BY created_at, id").map { row in
                guard let role = AdminToken.Role(rawValue: row["role"]), let created = SQLiteGrantStore.date(row["created_at"]) else {
                    throw Self.unreadable("admin token", row["id"])
                }
                let token = AdminToken(
                    id: row["id"], name: row["name"], role: role, createdAt: created, revokedAt: SQLiteGrantStore.date(row["revoked_at"]))
                return StoreTransfer.AdminTokenRow(token: token, tokenHash: row["token_hash"])
            }
        }
    }

    public func exportApprovals() async throws -> [Approval] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM approval ORDER BY created_at, id").map { row in
                guard let approval = SQLiteApprovalStore.approval(row) else { throw Self.unreadable("approval", row["id"]) }
                return approval
            }
        }
    }

    public func exportAudit(after sequence: Int64, limit: Int) async throws -> [AuditLog.Row] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, time, record, prev_hash, hash, tool, decision, identity FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [sequence, limit]
            ).map(SQLiteAuditStore.row)
        }
    }

    public func importRecords(_ records: StoreTransfer.Records) async throws {
        try await database.write { db in
            for table in [#""grant""#, "admin_token", "approval"] {
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") == 0 else {
                    throw StoreError(.invalidRequest, "the store already holds rows in \(table)")
                }
            }
            let format = StoreTransfer.storedText
            for row in records.grants {
                let grant = row.grant
                try db.execute(
                    sql: """
                        INSERT INTO "grant" (id, label, token_hash, servers, policy, identity, identity_labels, created_at, rotated_at, revoked_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        grant.id, grant.label, row.tokenHash, SQLiteGrantStore.json(grant.servers), grant.policy, grant.identity,
                        SQLiteGrantStore.json(grant.identityLabels), format(grant.createdAt), grant.rotatedAt.map(format),
                        grant.revokedAt.map(format),
                    ])
            }
            for row in records.adminTokens {
                let token = row.token
                try db.execute(
                    sql: "INSERT INTO admin_token (id, name, role, token_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [token.id, token.name, token.role.rawValue, row.tokenHash, format(token.createdAt), token.revokedAt.map(format)])
            }
            for approval in records.approvals {
                try db.execute(
                    sql: """
                        INSERT INTO approval (id, server, tool, identity, grant_id, session, request_id, arguments, rule, message,
                            approvers, holder, created_at, expires_at, status, decided_by, reason, decided_at, decided_by_token)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        approval.id, approval.server, approval.tool, approval.identity, approval.grant, approval.session,
                        approval.requestID, approval.arguments, approval.rule, approval.message, SQLiteGrantStore.json(approval.approvers),
                        approval.holder, format(approval.createdAt), format(approval.expiresAt), approval.status.rawValue,
                        approval.decidedBy, approval.reason, approval.decidedAt.map(format), approval.decidedByToken,
                    ])
            }
        }
    }

    public func importAudit(_ rows: [AuditLog.Row]) async throws {
        guard !rows.isEmpty else { return }
        try await database.write { db in
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            try StoreTransfer.checkContinuity(of: rows, after: last.map { AuditLog.Head(sequence: $0["seq"], hash: $0["hash"]) } ?? .empty)
            let insert = try db.cachedStatement(
                sql: "INSERT INTO audit (seq, time, record, prev_hash, hash, tool, decision, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for row in rows {
                try insert.execute(arguments: [row.sequence, row.time, row.recordText, row.previousHash, row.hash, row.tool, row.decision, row.identity])
            }
        }
    }

    /// A stored row that cannot be read back: the migration stops rather than drop it.
    private static func unreadable(_ kind: String, _ id: String?) -> StoreError {
        StoreError(.invalidRequest, "the \(kind) \(id ?? "(no id)") cannot be read: one of its columns is not in Warden's format")
    }
}
