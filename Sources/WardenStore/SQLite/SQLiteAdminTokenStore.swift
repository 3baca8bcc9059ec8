public import Foundation
import GRDB

/// Admin tokens in SQLite.
public struct SQLiteAdminTokenStore: AdminTokenStore {
    let database: DatabasePool

    public func create(name: String, role: AdminToken.Role, now: Date) async throws -> (token: AdminToken, secret: String) {
        let (token, secret) = try AdminToken.issue(name: name, role: role, now: now)
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO admin_token (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [token.id, name, role.rawValue, Secrets.hash(secret), SQLiteGrantStore.format(now)])
        }
        return (token, secret)
    }

    public func list(includingRevoked: Bool) async throws -> [AdminToken] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM admin_token ORDER BY created_at, id").compactMap(Self.token)
                .filter { includingRevoked || $0.revokedAt == nil }
        }
    }

    public func authenticate(secret: String) async throws -> AdminToken? {
        let hash = Secrets.hash(secret)
        return try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM admin_token WHERE token_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .flatMap(Self.token)
        }
    }

    public func isActive(id: String) async throws -> Bool {
        try await database.read { db in
            try Bool.fetchOne(db, sql: "SELECT revoked_at IS NULL FROM admin_token WHERE id = ?", arguments: [id]) ?? false
        }
    }

    public func revoke(id: String, now: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE admin_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [SQLiteGrantStore.format(now), id])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "no active admin token \(id)") }
        }
    }

    private static func token(_ row: Row) -> AdminToken? {
        token(id: row["id"], name: row["name"], role: row["role"], createdAt: row["created_at"], revokedAt: row["revoked_at"])
    }

    /// An admin token from its stored columns (any backend's); `nil` when one cannot be read.
    static func token(id: String, name: String, role: String, createdAt: String, revokedAt: String?) -> AdminToken? {
        guard let role = AdminToken.Role(rawValue: role), let created = SQLiteGrantStore.date(createdAt) else { return nil }
        return AdminToken(id: id, name: name, role: role, createdAt: created, revokedAt: SQLiteGrantStore.date(revokedAt))
    }
}
