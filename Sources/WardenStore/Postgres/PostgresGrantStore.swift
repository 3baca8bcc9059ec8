public import Foundation
import PostgresNIO

/// Grants in PostgreSQL. Revoking or rotating cancels the grant's pending approvals in the
/// same transaction, and announces each (see ``ChannelListener``).
///
/// Tokens are authenticated through a ``GrantCache``: a request with a token seen before costs
/// no statement until a grant changes anywhere, which a trigger (`warden_grant_changed`)
/// announces on ``channel``.
public struct PostgresGrantStore: GrantStore {
    let database: PostgresDatabase
    let cache: GrantCache

    /// The channel grant changes are announced on; the payload is the grant's id.
    static let channel = "warden_grants"

    public func create(
        label: String, servers: [String], policy: String, identity: String?, identityLabels: [String: String], now: Date
    ) async throws -> IssuedGrant {
        let issued = try IssuedGrant(
            label: label, servers: servers, policy: policy, identity: identity, identityLabels: identityLabels, now: now)
        let grant = issued.grant
        try await database.query(
            """
            INSERT INTO warden_grant (id, label, token_hash, servers, policy, identity, identity_labels, created_at)
            VALUES (\(grant.id), \(grant.label), \(Secrets.hash(issued.token)), \(SQLiteGrantStore.json(servers)), \(policy),
                \(grant.identity), \(SQLiteGrantStore.json(identityLabels)), \(SQLiteGrantStore.format(now)))
            """, "creating a grant")
        return issued
    }

    public func list(includingRevoked: Bool) async throws -> [Grant] {
        try await database.query("SELECT \(unescaped: Self.columns) FROM warden_grant ORDER BY created_at, id", "listing grants")
            .compactMap(Self.grant)
            .filter { includingRevoked || $0.isActive }
    }

    public func authenticate(token: String) async throws -> Grant? {
        let hash = Secrets.hash(token)
        return try await cache.grant(tokenHash: hash) {
            try await database.query(
                "SELECT \(unescaped: Self.columns) FROM warden_grant WHERE token_hash = \(hash) AND revoked_at IS NULL",
                "authenticating a grant"
            ).first.flatMap(Self.grant)
        }
    }

    public func rotate(id: String, now: Date) async throws -> IssuedGrant {
        let token = Secrets.newSecret(prefix: Grant.tokenPrefix)
        let grant = try await database.transaction("rotating a grant") { [logger = database.logger] connection in
            let rows = try await connection.query(
                """
                UPDATE warden_grant SET token_hash = \(Secrets.hash(token)), rotated_at = \(SQLiteGrantStore.format(now))
                WHERE id = \(id) AND revoked_at IS NULL RETURNING \(unescaped: Self.columns)
                """, logger: logger
            ).collect()
            guard let grant = rows.first.flatMap(Self.grant) else { throw StoreError(.notFound, "no active grant \(id)") }
            try await PostgresApprovalStore.cancelPending(ofGrant: id, because: "the grant's token was rotated", now: now, on: connection, logger: logger)
            return grant
        }
        cache.grantsChanged()
        return IssuedGrant(grant: grant, token: token)
    }

    public func revoke(id: String, now: Date) async throws {
        try await database.transaction("revoking a grant") { [logger = database.logger] connection in
            let rows = try await connection.query(
                "UPDATE warden_grant SET revoked_at = \(SQLiteGrantStore.format(now)) WHERE id = \(id) AND revoked_at IS NULL RETURNING id",
                logger: logger
            ).collect()
            guard !rows.isEmpty else { throw StoreError(.notFound, "no active grant \(id)") }
            try await PostgresApprovalStore.cancelPending(ofGrant: id, because: "the grant was revoked", now: now, on: connection, logger: logger)
        }
        cache.grantsChanged()
    }

    public func isActive(id: String, unchangedSince since: Date) async throws -> Bool {
        guard let grant = try await database.query(
            "SELECT \(unescaped: Self.columns) FROM warden_grant WHERE id = \(id)", "reading a grant"
        ).first.flatMap(Self.grant)
        else { return false }
        return !grant.wasChanged(since: since)
    }

    /// The columns of a grant, in the order ``grant(_:)`` reads them.
    static let columns = "id, label, servers, policy, identity, identity_labels, created_at, rotated_at, revoked_at"

    static func grant(_ row: PostgresRow) -> Grant? {
        guard let (id, label, servers, policy, identity, labels, created, rotated, revoked) = try? row.decode(
            (String, String, String, String, String, String, String, String?, String?).self)
        else { return nil }
        return SQLiteGrantStore.grant(
            id: id, label: label, servers: servers, policy: policy, identity: identity, identityLabels: labels, createdAt: created,
            rotatedAt: rotated, revokedAt: revoked)
    }
}
