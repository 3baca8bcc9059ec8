import PostgresNIO

/// The PostgreSQL store as a source and a destination of ``StoreMigration``: rows read and
/// written as they are stored (times are text in both backends, so nothing is reformatted).
extension PostgresStore: TransferableStore {
    public func transferContents() async throws -> StoreTransfer.Contents {
        let rows = try await database.query(
            """
            SELECT (SELECT count(*) FROM warden_grant), (SELECT count(*) FROM warden_admin_token),
                (SELECT count(*) FROM warden_approval), (SELECT count(*) FROM warden_audit)
            """, "counting what the store holds")
        guard let (grants, tokens, approvals, audit) = try rows.first?.decode((Int, Int, Int, Int).self) else {
            return StoreTransfer.Contents()
        }
        return StoreTransfer.Contents(grants: grants, adminTokens: tokens, approvals: approvals, auditEntries: audit)
    }

    public func exportGrants() async throws -> [StoreTransfer.GrantRow] {
        let rows = try await database.query(
            "SELECT \(unescaped: PostgresGrantStore.columns) FROM warden_grant ORDER BY created_at, id", "exporting grants")
        let hashes = Dictionary(
            uniqueKeysWithValues: try await database.query("SELECT id, token_hash FROM warden_grant", "exporting grants")
                .map { try $0.decode((String, String).self) })
        return try rows.map { row in
            guard let grant = PostgresGrantStore.grant(row), let hash = hashes[grant.id] else { throw Self.unreadable("a grant") }
            return StoreTransfer.GrantRow(grant: grant, tokenHash: hash)
        }
    }

    public func exportAdminTokens() async throws -> [StoreTransfer.AdminTokenRow] {
        try await database.query(
            "SELECT id, name, role, created_at, revoked_at, token_hash FROM warden_admin_token ORDER BY created_at, id",
            "exporting admin tokens"
        ).map { row in
            let (id, name, role, created, revoked, hash) = try row.decode((String, String, String, String, String?, String).self)
            guard let token = SQLiteAdminTokenStore.token(id: id, name: name, role: role, createdAt: created, revokedAt: revoked) else {
                throw Self.unreadable("the admin token \(id)")
            }
            return StoreTransfer.AdminTokenRow(token: token, tokenHash: hash)
        }
    }

    public func exportApprovals() async throws -> [Approval] {
        try await database.query(
            "SELECT \(unescaped: PostgresApprovalStore.columns) FROM warden_approval ORDER BY created_at, id", "exporting approvals"
        ).map { row in
            guard let approval = PostgresApprovalStore.approval(row) else { throw Self.unreadable("an approval") }
            return approval
        }
    }

    public func exportAudit(after sequence: Int64, limit: Int) async throws -> [AuditLog.Row] {
        try await database.query(
            "SELECT \(unescaped: PostgresAuditStore.columns) FROM warden_audit WHERE seq > \(sequence) ORDER BY seq LIMIT \(limit)",
            "exporting the audit log"
        ).map(PostgresAuditStore.row)
    }

    public func importRecords(_ records: StoreTransfer.Records) async throws {
        let logger = database.logger
        try await database.transaction("importing grants, admin tokens and approvals") { connection in
            for table in ["warden_grant", "warden_admin_token", "warden_approval"] {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(table) LIMIT 1"), logger: logger).collect()
                guard rows.isEmpty else { throw StoreError(.invalidRequest, "the store already holds rows in \(table)") }
            }
            let format = StoreTransfer.storedText
            for row in records.grants {
                let grant = row.grant
                try await connection.query(
                    """
                    INSERT INTO warden_grant (id, label, token_hash, servers, policy, identity, identity_labels, created_at, rotated_at, revoked_at)
                    VALUES (\(grant.id), \(grant.label), \(row.tokenHash), \(SQLiteGrantStore.json(grant.servers)), \(grant.policy),
                        \(grant.identity), \(SQLiteGrantStore.json(grant.identityLabels)), \(format(grant.createdAt)),
                        \(grant.rotatedAt.map(format)), \(grant.revokedAt.map(format)))
                    """, logger: logger)
            }
            for row in records.adminTokens {
                let token = row.token
                try await connection.query(
                    """
                    INSERT INTO warden_admin_token (id, name, role, token_hash, created_at, revoked_at)
                    VALUES (\(token.id), \(token.name), \(token.role.rawValue), \(row.tokenHash), \(format(token.createdAt)),
                        \(token.revokedAt.map(format)))
                    """, logger: logger)
            }
            for approval in records.approvals {
                try await connection.query(
                    """
                    INSERT INTO warden_approval (id, server, tool, identity, grant_id, session, request_id, arguments, rule, message,
                        approvers, holder, created_at, expires_at, status, decided_by, reason, decided_at, decided_by_token)
                    VALUES (\(approval.id), \(approval.server), \(approval.tool), \(approval.identity), \(approval.grant),
                        \(approval.session), \(approval.requestID), \(approval.arguments), \(approval.rule), \(approval.message),
                        \(SQLiteGrantStore.json(approval.approvers)), \(approval.holder), \(format(approval.createdAt)),
                        \(format(approval.expiresAt)), \(approval.status.rawValue), \(approval.decidedBy), \(approval.reason),
                        \(approval.decidedAt.map(format)), \(approval.decidedByToken))
                    """, logger: logger)
            }
        }
    }

    public func importAudit(_ rows: [AuditLog.Row]) async throws {
        guard !rows.isEmpty else { return }
        let logger = database.logger
        try await database.transaction("importing audit entries") { connection in
            // The lock appends after a contested head take: nobody appends meanwhile.
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresAuditStore.appendLock))", logger: logger)
            let last = try await connection.query("SELECT seq, hash FROM warden_audit ORDER BY seq DESC LIMIT 1", logger: logger)
                .collect().first?.decode((Int64, String).self)
            try StoreTransfer.checkContinuity(of: rows, after: last.map { AuditLog.Head(sequence: $0.0, hash: $0.1) } ?? .empty)
            let (tools, hasTool) = (rows.map { $0.tool ?? "" }, rows.map { $0.tool != nil })
            try await connection.query(
                """
                INSERT INTO warden_audit (seq, time, record, prev_hash, hash, tool, decision, identity)
                SELECT u.seq, u.time, u.record, u.prev_hash, u.hash, CASE WHEN u.has_tool THEN u.tool END, u.decision, u.identity
                FROM unnest(\(rows.map(\.sequence))::bigint[], \(rows.map(\.time))::text[], \(rows.map(\.recordText))::text[],
                    \(rows.map(\.previousHash))::text[], \(rows.map(\.hash))::text[], \(hasTool)::boolean[], \(tools)::text[],
                    \(rows.map(\.decision))::text[], \(rows.map(\.identity))::text[])
                    AS u(seq, time, record, prev_hash, hash, has_tool, tool, decision, identity)
                """, logger: logger)
        }
    }

    /// A stored row that cannot be read back: the migration stops rather than drop it.
    private static func unreadable(_ what: String) -> StoreError {
        StoreError(.invalidRequest, "\(what) in the store cannot be read: one of its columns is not in Warden's format")
    }
}
