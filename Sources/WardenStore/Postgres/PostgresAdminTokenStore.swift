public import Foundation
import PostgresNIO

/// Admin tokens in PostgreSQL, hashed like grant tokens.
public struct PostgresAdminTokenStore: AdminTokenStore {
    let database: PostgresDatabase

    public func create(name: String, role: AdminToken.Role, now: Date) async throws -> (token: AdminToken, secret: String) {
        let (token, secret) = try AdminToken.issue(name: name, role: role, now: now)
        try await database.query(
            """
            INSERT INTO warden_admin_token (id, name, role, token_hash, created_at)
            VALUES (\(token.id), \(name), \(role.rawValue), \(Secrets.hash(secret)), \(SQLiteGrantStore.format(now)))
            """, "creating an admin token")
        return (token, secret)
    }

    public func list(includingRevoked: Bool) async throws -> [AdminToken] {
        try await database.query(
            "SELECT id, name, role, created_at, revoked_at FROM warden_admin_token ORDER BY created_at, id", "listing admin tokens"
        ).compactMap(Self.token).filter { includingRevoked || $0.revokedAt == nil }
    }

    public func authenticate(secret: String) async throws -> AdminToken? {
        try await database.query(
            """
            SELECT id, name, role, created_at, revoked_at FROM warden_admin_token
            WHERE token_hash = \(Secrets.hash(secret)) AND revoked_at IS NULL
            """, "authenticating an admin token"
        ).first.flatMap(Self.token)
    }

    public func isActive(id: String) async throws -> Bool {
        try await database.query("SELECT revoked_at IS NULL FROM warden_admin_token WHERE id = \(id)", "reading an admin token")
            .first.flatMap { try? $0.decode(Bool.self) } ?? false
    }

    public func revoke(id: String, now: Date) async throws {
        let rows = try await database.query(
            """
            UPDATE warden_admin_token SET revoked_at = \(SQLiteGrantStore.format(now)) WHERE id = \(id) AND revoked_at IS NULL
            RETURNING id
            """, "revoking an admin token")
        guard !rows.isEmpty else { throw StoreError(.notFound, "no active admin token \(id)") }
    }

    private static func token(_ row: PostgresRow) -> AdminToken? {
        guard let (id, name, role, created, revoked) = try? row.decode((String, String, String, String, String?).self) else { return nil }
        return SQLiteAdminTokenStore.token(id: id, name: name, role: role, createdAt: created, revokedAt: revoked)
    }
}
