public import Foundation
import GRDB
import WardenJSON

/// Grants in SQLite: create, list, rotate, revoke, and find the grant of a bearer token.
public struct GrantStore: Sendable {
    let database: DatabasePool
    let decoded: DecodedGrants

    /// Why a grant operation failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Creates a grant and returns it with its token.
    public func create(
        label: String,
        servers: [String],
        policy: String,
        identity: String? = nil,
        identityLabels: [String: String] = [:],
        now: Date = Date()
    ) throws -> IssuedGrant {
        guard !label.isEmpty else { throw Failure(description: "a grant needs a label") }
        guard !servers.isEmpty else { throw Failure(description: "a grant needs at least one server") }
        let grant = Grant(
            id: "g_" + Self.randomString(bytes: 6), label: label, servers: servers, policy: policy,
            identity: identity ?? label, identityLabels: identityLabels, createdAt: now)
        let token = Self.newToken()
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO "grant" (id, label, token_hash, servers, policy, identity, identity_labels, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    grant.id, grant.label, Self.hash(token), Self.json(servers), policy, grant.identity,
                    Self.json(identityLabels), Self.format(now),
                ])
        }
        return IssuedGrant(grant: grant, token: token)
    }

    /// Every grant, oldest first; revoked ones only when asked for.
    public func list(includingRevoked: Bool = false) throws -> [Grant] {
        try database.read { db in
            try Row.fetchAll(db, sql: #"SELECT * FROM "grant" ORDER BY created_at, id"#)
                .compactMap(Self.grant)
                .filter { includingRevoked || $0.isActive }
        }
    }

    /// The active grant of `token`, or `nil` (unknown, or revoked).
    ///
    /// Runs on the calling thread: one indexed read of the grant's id through a cached
    /// statement (a single statement needs no transaction to be consistent), less work than
    /// handing it to a database queue and back. The grant itself is read and decoded once
    /// per token (see ``DecodedGrants``); a revoked or rotated token fails the read at once.
    public func authenticate(token: String) throws -> Grant? {
        let hash = Self.hash(token)
        let id = try database.unsafeRead { db in
            try String.fetchOne(
                db.cachedStatement(sql: #"SELECT id FROM "grant" WHERE token_hash = ? AND revoked_at IS NULL"#), arguments: [hash])
        }
        guard let id else {
            decoded.forget(tokenHash: hash)
            return nil
        }
        if let grant = decoded.grant(forTokenHash: hash, id: id) { return grant }
        let grant = try database.read { db in
            try Row.fetchOne(db.cachedStatement(sql: #"SELECT * FROM "grant" WHERE token_hash = ? AND revoked_at IS NULL"#), arguments: [hash])
                .flatMap(Self.grant)
        }
        if let grant { decoded.remember(grant, forTokenHash: hash) }
        return grant
    }

    /// Replaces the token of an active grant: the old one stops working at once.
    public func rotate(id: String, now: Date = Date()) throws -> IssuedGrant {
        let token = Self.newToken()
        try database.write { db in
            try db.execute(
                sql: #"UPDATE "grant" SET token_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL"#,
                arguments: [Self.hash(token), Self.format(now), id])
            guard db.changesCount == 1 else { throw Failure(description: "no active grant \(id)") }
            try ApprovalStore.cancelPending(ofGrant: id, because: "the grant's token was rotated", now: now, in: db)
        }
        guard let grant = try list().first(where: { $0.id == id }) else { throw Failure(description: "no active grant \(id)") }
        return IssuedGrant(grant: grant, token: token)
    }

    /// Revokes a grant: its token stops working at once.
    public func revoke(id: String, now: Date = Date()) throws {
        try database.write { db in
            try db.execute(sql: #"UPDATE "grant" SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"#, arguments: [Self.format(now), id])
            guard db.changesCount == 1 else { throw Failure(description: "no active grant \(id)") }
            try ApprovalStore.cancelPending(ofGrant: id, because: "the grant was revoked", now: now, in: db)
        }
    }

    /// Whether grant `id` is active with the token it had at `since`: not revoked, and its
    /// token not replaced after then.
    /// A grant that does not exist is not active.
    public func isActive(id: String, unchangedSince since: Date) async throws -> Bool {
        try await database.read { db in
            guard try Row.fetchOne(db, sql: #"SELECT 1 FROM "grant" WHERE id = ?"#, arguments: [id]) != nil else { return false }
            return try !Self.wasChanged(id: id, since: since, in: db)
        }
    }

    /// Whether grant `id` exists and was revoked, or had its token rotated, after `since`.
    static func wasChanged(id: String, since: Date, in db: Database) throws -> Bool {
        guard let row = try Row.fetchOne(db, sql: #"SELECT revoked_at, rotated_at FROM "grant" WHERE id = ?"#, arguments: [id]) else {
            return false
        }
        if (row["revoked_at"] as String?) != nil { return true }
        guard let rotated = (row["rotated_at"] as String?) else { return false }
        // Both in the same fixed-width UTC format: text order is time order.
        return rotated >= Self.format(since)
    }

    // MARK: - Encoding

    static func hash(_ token: String) -> String {
        Digest.sha256(Array(token.utf8))
    }

    /// How every grant token begins, which tells it from other bearer tokens (JWTs).
    public static let tokenPrefix = "wdn_"

    static func newToken() -> String {
        tokenPrefix + randomString(bytes: 32)
    }

    /// `bytes` random bytes from the system's secure generator, as unpadded base64url.
    static func randomString(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ strings: [String]) -> String {
        JSONWriter.write(.array(strings.map(JSONValue.string)))
    }

    static func json(_ labels: [String: String]) -> String {
        JSONWriter.write(.object(JSONObject(labels.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })))
    }

    static func format(_ date: Date) -> String {
        date.formatted(AuditRecord.timeFormat)
    }

    static func grant(_ row: Row) -> Grant? {
        guard let servers = try? JSONReader.parse(row["servers"] as String).arrayValue?.compactMap(\.stringValue),
            let labels = try? JSONReader.parse(row["identity_labels"] as String).objectValue,
            let created = try? Date(row["created_at"] as String, strategy: AuditRecord.timeFormat)
        else { return nil }
        return Grant(
            id: row["id"], label: row["label"], servers: servers, policy: row["policy"], identity: row["identity"],
            identityLabels: Dictionary(uniqueKeysWithValues: labels.members.compactMap { member in member.value.stringValue.map { (member.key, $0) } }),
            createdAt: created,
            rotatedAt: (row["rotated_at"] as String?).flatMap { try? Date($0, strategy: AuditRecord.timeFormat) },
            revokedAt: (row["revoked_at"] as String?).flatMap { try? Date($0, strategy: AuditRecord.timeFormat) })
    }
}
