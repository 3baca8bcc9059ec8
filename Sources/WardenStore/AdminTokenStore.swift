public import Foundation
import GRDB

/// A token of the admin API and dashboard, with the role that bounds what it may do.
public struct AdminToken: Sendable, Equatable {
    /// What an admin token may do; each role may do everything the ones before it may.
    public enum Role: String, Sendable, CaseIterable, Comparable {
        /// Read approvals, the audit log, grants and servers.
        case viewer
        /// Also approve and deny held calls.
        case approver
        /// Also manage grants and reload policies.
        case admin

        public static func < (lhs: Role, rhs: Role) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// The public id, e.g. `t_4f2k9q7m`.
    public var id: String
    /// Who holds it: the approver name recorded on their decisions.
    public var name: String
    public var role: Role
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, name: String, role: Role, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Admin tokens in SQLite, stored hashed like grant tokens; shown once, when created.
public struct AdminTokenStore: Sendable {
    let database: DatabasePool

    /// How every admin token begins.
    public static let tokenPrefix = "wda_"

    /// Creates a token for `name` with `role`; returns it and the secret, shown this once.
    public func create(name: String, role: AdminToken.Role, now: Date = Date()) throws -> (token: AdminToken, secret: String) {
        guard !name.isEmpty else { throw GrantStore.Failure(description: "an admin token needs a name") }
        let token = AdminToken(id: "t_" + GrantStore.randomString(bytes: 6), name: name, role: role, createdAt: now)
        let secret = Self.tokenPrefix + GrantStore.randomString(bytes: 32)
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO admin_token (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [token.id, name, role.rawValue, GrantStore.hash(secret), GrantStore.format(now)])
        }
        return (token, secret)
    }

    /// Every token, oldest first; revoked ones only when asked for.
    public func list(includingRevoked: Bool = false) throws -> [AdminToken] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM admin_token ORDER BY created_at, id").compactMap(Self.token)
                .filter { includingRevoked || $0.revokedAt == nil }
        }
    }

    /// The active token whose secret is `secret`, or `nil`.
    public func authenticate(secret: String) async throws -> AdminToken? {
        let hash = GrantStore.hash(secret)
        return try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM admin_token WHERE token_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .flatMap(Self.token)
        }
    }

    /// Whether the admin token `id` exists and is not revoked.
    public func isActive(id: String) async throws -> Bool {
        try await database.read { db in
            try Bool.fetchOne(db, sql: "SELECT revoked_at IS NULL FROM admin_token WHERE id = ?", arguments: [id]) ?? false
        }
    }

    /// Revokes a token: it stops working at once.
    public func revoke(id: String, now: Date = Date()) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE admin_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [GrantStore.format(now), id])
            guard db.changesCount == 1 else { throw GrantStore.Failure(description: "no active admin token \(id)") }
        }
    }

    private static func token(_ row: Row) -> AdminToken? {
        guard let role = AdminToken.Role(rawValue: row["role"]),
            let created = try? Date(row["created_at"] as String, strategy: AuditRecord.timeFormat)
        else { return nil }
        return AdminToken(
            id: row["id"], name: row["name"], role: role, createdAt: created,
            revokedAt: (row["revoked_at"] as String?).flatMap { try? Date($0, strategy: AuditRecord.timeFormat) })
    }
}
