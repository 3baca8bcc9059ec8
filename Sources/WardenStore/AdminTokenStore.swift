public import Foundation

/// Where the admin API's tokens are kept, hashed like grant tokens; a secret is shown once,
/// when its token is created.
public protocol AdminTokenStore: Sendable {
    /// Creates a token for `name` with `role` (see ``AdminToken/issue(name:role:now:)``); returns it and the secret.
    /// - Throws: ``StoreError`` (`invalidRequest`) without a name.
    func create(name: String, role: AdminToken.Role, now: Date) async throws -> (token: AdminToken, secret: String)

    /// Every token, oldest first; revoked ones only when asked for.
    func list(includingRevoked: Bool) async throws -> [AdminToken]

    /// The active token whose secret is `secret`, or `nil`.
    func authenticate(secret: String) async throws -> AdminToken?

    /// Whether the admin token `id` exists and is not revoked.
    func isActive(id: String) async throws -> Bool

    /// Revokes a token: it stops working at once.
    /// - Throws: ``StoreError`` (`notFound`) when no active token has this id.
    func revoke(id: String, now: Date) async throws
}

extension AdminTokenStore {
    /// Creates a token now.
    public func create(name: String, role: AdminToken.Role) async throws -> (token: AdminToken, secret: String) {
        try await create(name: name, role: role, now: Date())
    }

    /// Every active token, oldest first.
    public func list() async throws -> [AdminToken] {
        try await list(includingRevoked: false)
    }

    /// Revokes a token now.
    public func revoke(id: String) async throws {
        try await revoke(id: id, now: Date())
    }
}
