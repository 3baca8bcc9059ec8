public import Foundation
import GRDB
import WardenJSON

/// Grants in SQLite. Tokens are authenticated through a ``GrantCache`` whose signal is the
/// database's ``GrantStamp``, which every rotation and revocation replaces once committed.
public struct SQLiteGrantStore: GrantStore {
    let database: DatabasePool
    let decoded: DecodedGrants
    let cache: GrantCache

    public func create(
        label: String, servers: [String], policy: String, identity: String?, identityLabels: [String: String], now: Date
    ) async throws -> IssuedGrant {
        let issued = try IssuedGrant(
            label: label, servers: servers, policy: policy, identity: identity, identityLabels: identityLabels, now: now)
        let grant = issued.grant
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO "grant" (id, label, token_hash, servers, policy, identity, identity_labels, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    grant.id, grant.label, Secrets.hash(issued.token), Self.json(servers), policy, grant.identity,
                    Self.json(identityLabels), Self.format(now),
                ])
        }
        return issued
    }

    public func list(includingRevoked: Bool) async throws -> [Grant] {
        try await database.read { db in
            try Row.fetchAll(db, sql: #"SELECT * FROM "grant" ORDER BY created_at, id"#)
                .compactMap(Self.grant)
                .filter { includingRevoked || $0.isActive }
        }
    }

    /// Kept (see ``GrantCache``), or one indexed read of the grant's id through a cached
    /// statement; the grant itself is read and decoded once per token (see ``DecodedGrants``).
    /// A revoked or rotated token fails at once.
    public func authenticate(token: String) async throws -> Grant? {
        let hash = Secrets.hash(token)
        let (database, decoded) = (database, decoded)
        return try await cache.grant(tokenHash: hash) {
            try await database.read { db in
                guard
                    let id = try String.fetchOne(
                        db.cachedStatement(sql: #"SELECT id FROM "grant" WHERE token_hash = ? AND revoked_at IS NULL"#), arguments: [hash])
                else {
                    decoded.forget(tokenHash: hash)
                    return nil
                }
                if let grant = decoded.grant(forTokenHash: hash, id: id) { return grant }
                let grant = try Row.fetchOne(db.cachedStatement(sql: #"SELECT * FROM "grant" WHERE id = ?"#), arguments: [id])
                    .flatMap(Self.grant)
                if let grant { decoded.remember(grant, forTokenHash: hash) }
                return grant
            }
        }
    }

    public func rotate(id: String, now: Date) async throws -> IssuedGrant {
        let token = Secrets.newSecret(prefix: Grant.tokenPrefix)
        let grant = try await database.write { db in
            try db.execute(
                sql: #"UPDATE "grant" SET token_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL"#,
                arguments: [Secrets.hash(token), Self.format(now), id])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "no active grant \(id)") }
            try SQLiteApprovalStore.cancelPending(ofGrant: id, because: "the grant's token was rotated", now: now, in: db)
            return try Self.fetch(id: id, in: db)
        }
        cache.grantsChanged()
        guard let grant else { throw StoreError(.notFound, "no active grant \(id)") }
        return IssuedGrant(grant: grant, token: token)
    }

    public func revoke(id: String, now: Date) async throws {
        try await database.write { db in
            try db.execute(sql: #"UPDATE "grant" SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"#, arguments: [Self.format(now), id])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "no active grant \(id)") }
            try SQLiteApprovalStore.cancelPending(ofGrant: id, because: "the grant was revoked", now: now, in: db)
        }
        cache.grantsChanged()
    }

    public func isActive(id: String, unchangedSince since: Date) async throws -> Bool {
        try await database.read { db in
            guard let grant = try Self.fetch(id: id, in: db) else { return false }
            return !grant.wasChanged(since: since)
        }
    }

    static func fetch(id: String, in db: Database) throws -> Grant? {
        try Row.fetchOne(db, sql: #"SELECT * FROM "grant" WHERE id = ?"#, arguments: [id]).flatMap(grant)
    }

    // MARK: - Encoding

    static func json(_ strings: [String]) -> String {
        JSONWriter.write(.array(strings.map(JSONValue.string)))
    }

    static func json(_ labels: [String: String]) -> String {
        JSONWriter.write(.object(JSONObject(labels.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })))
    }

    static func format(_ date: Date) -> String {
        date.formatted(AuditRecord.timeFormat)
    }

    static func date(_ text: String?) -> Date? {
        text.flatMap { try? Date($0, strategy: AuditRecord.timeFormat) }
    }

    static func grant(_ row: Row) -> Grant? {
        grant(
            id: row["id"], label: row["label"], servers: row["servers"], policy: row["policy"], identity: row["identity"],
            identityLabels: row["identity_labels"], createdAt: row["created_at"], rotatedAt: row["rotated_at"],
            revokedAt: row["revoked_at"])
    }

    /// A grant from its stored columns (any backend's); `nil` when one cannot be read.
    static func grant(
        id: String, label: String, servers: String, policy: String, identity: String, identityLabels: String, createdAt: String,
        rotatedAt: String?, revokedAt: String?
    ) -> Grant? {
        guard let servers = try? JSONReader.parse(servers).arrayValue?.compactMap(\.stringValue),
            let labels = try? JSONReader.parse(identityLabels).objectValue,
            let created = date(createdAt)
        else { return nil }
        return Grant(
            id: id, label: label, servers: servers, policy: policy, identity: identity,
            identityLabels: Dictionary(uniqueKeysWithValues: labels.members.compactMap { member in member.value.stringValue.map { (member.key, $0) } }),
            createdAt: created, rotatedAt: date(rotatedAt), revokedAt: date(revokedAt))
    }
}
