public import Foundation

/// Where grants are kept: create, list, rotate, revoke, and find the grant of a bearer token.
///
/// Tokens are kept only as their hash (``Secrets/hash(_:)``). Revoking a grant or rotating
/// its token cancels its pending approvals in the same step, so none of its held calls can
/// be approved after.
public protocol GrantStore: Sendable {
    /// Creates a grant and returns it with its token (see ``IssuedGrant/init(label:servers:policy:identity:identityLabels:now:)``).
    /// - Throws: ``StoreError`` (`invalidRequest`) without a label or a server.
    func create(
        label: String, servers: [String], policy: String, identity: String?, identityLabels: [String: String], now: Date
    ) async throws -> IssuedGrant

    /// Every grant, oldest first; revoked ones only when asked for.
    func list(includingRevoked: Bool) async throws -> [Grant]

    /// The active grant of `token`, or `nil` (unknown, or revoked).
    func authenticate(token: String) async throws -> Grant?

    /// Replaces the token of an active grant: the old one stops working at once.
    /// - Throws: ``StoreError`` (`notFound`) when no active grant has this id.
    func rotate(id: String, now: Date) async throws -> IssuedGrant

    /// Revokes a grant: its token stops working at once.
    /// - Throws: ``StoreError`` (`notFound`) when no active grant has this id.
    func revoke(id: String, now: Date) async throws

    /// Whether grant `id` is active with the token it had at `since`: not revoked, and its
    /// token not replaced after then. A grant that does not exist is not active.
    func isActive(id: String, unchangedSince since: Date) async throws -> Bool
}

extension GrantStore {
    /// Creates a grant now; its identity is its label unless given.
    public func create(
        label: String, servers: [String], policy: String, identity: String? = nil, identityLabels: [String: String] = [:]
    ) async throws -> IssuedGrant {
        try await create(label: label, servers: servers, policy: policy, identity: identity, identityLabels: identityLabels, now: Date())
    }

    /// Every active grant, oldest first.
    public func list() async throws -> [Grant] {
        try await list(includingRevoked: false)
    }

    /// Replaces the token of an active grant now.
    public func rotate(id: String) async throws -> IssuedGrant {
        try await rotate(id: id, now: Date())
    }

    /// Revokes a grant now.
    public func revoke(id: String) async throws {
        try await revoke(id: id, now: Date())
    }
}
