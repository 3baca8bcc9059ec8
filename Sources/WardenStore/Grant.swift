public import Foundation
public import WardenJSON

/// A grant: a bearer token, bound to servers and a policy, that gives its holder an identity.
///
/// The token itself is never stored, only its SHA-256; it is shown once, when the grant is
/// created or rotated.
public struct Grant: Sendable, Equatable {
    /// The public id, e.g. `g_4f2k9q7m`: safe to log and to name in commands.
    public var id: String
    /// A human label, e.g. `ci-agent`.
    public var label: String
    /// The servers the token reaches.
    public var servers: [String]
    /// The policy (file) the grant's calls are decided by.
    public var policy: String
    /// The identity name the grant gives (`identity.name`).
    public var identity: String
    /// The identity labels the grant gives (`identity.labels.*`).
    public var identityLabels: [String: String]
    /// When the grant was created.
    public var createdAt: Date
    /// When its token was last replaced.
    public var rotatedAt: Date?
    /// When the grant was revoked; a revoked token stops working at once.
    public var revokedAt: Date?

    public init(
        id: String,
        label: String,
        servers: [String],
        policy: String,
        identity: String,
        identityLabels: [String: String] = [:],
        createdAt: Date,
        rotatedAt: Date? = nil,
        revokedAt: Date? = nil
    ) {
        self.id = id
        self.label = label
        self.servers = servers
        self.policy = policy
        self.identity = identity
        self.identityLabels = identityLabels
        self.createdAt = createdAt
        self.rotatedAt = rotatedAt
        self.revokedAt = revokedAt
    }

    /// Whether the grant still works.
    public var isActive: Bool { revokedAt == nil }

    /// How every grant token begins, which tells it from other bearer tokens (JWTs).
    public static let tokenPrefix = "wdn_"

    /// Whether the grant was revoked, or had its token replaced at or after `since` (to the
    /// millisecond, as stores keep times).
    public func wasChanged(since: Date) -> Bool {
        guard revokedAt == nil else { return true }
        guard let rotatedAt else { return false }
        // Both in the same fixed-width UTC format: text order is time order.
        return rotatedAt.formatted(AuditRecord.timeFormat) >= since.formatted(AuditRecord.timeFormat)
    }

    /// The grant as JSON (never with a token).
    public var json: JSONValue {
        var members: [JSONObject.Member] = [
            .init(key: "id", value: .string(id)),
            .init(key: "label", value: .string(label)),
            .init(key: "servers", value: .array(servers.map(JSONValue.string))),
            .init(key: "policy", value: .string(policy)),
            .init(key: "identity", value: .string(identity)),
            .init(key: "identity_labels", value: .object(JSONObject(identityLabels.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) }))),
            .init(key: "created_at", value: .string(createdAt.formatted(.iso8601))),
        ]
        if let rotatedAt { members.append(.init(key: "rotated_at", value: .string(rotatedAt.formatted(.iso8601)))) }
        if let revokedAt { members.append(.init(key: "revoked_at", value: .string(revokedAt.formatted(.iso8601)))) }
        return .object(JSONObject(members))
    }
}

/// A grant and its token, as returned when the token is made: the only time it is known.
public struct IssuedGrant: Sendable {
    /// The grant.
    public var grant: Grant
    /// The bearer token, `wdn_` and 43 URL-safe characters (256 random bits).
    public var token: String

    public init(grant: Grant, token: String) {
        self.grant = grant
        self.token = token
    }

    /// A new grant with a fresh id and token, for a store to keep.
    /// - Throws: ``StoreError`` (`invalidRequest`) without a label or a server.
    public init(
        label: String, servers: [String], policy: String, identity: String?, identityLabels: [String: String], now: Date
    ) throws(StoreError) {
        guard !label.isEmpty else { throw StoreError(.invalidRequest, "a grant needs a label") }
        guard !servers.isEmpty else { throw StoreError(.invalidRequest, "a grant needs at least one server") }
        let grant = Grant(
            id: Secrets.newID(prefix: "g_"), label: label, servers: servers, policy: policy, identity: identity ?? label,
            identityLabels: identityLabels, createdAt: now)
        self.init(grant: grant, token: Secrets.newSecret(prefix: Grant.tokenPrefix))
    }
}
