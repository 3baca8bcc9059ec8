import Testing

@testable import WardenStore

/// Admin tokens, on every backend.
@Suite struct AdminTokenConformanceTests {
    @Test(arguments: Backend.all) func tokensAuthenticateWithTheirRoleUntilRevoked(_ backend: Backend) async throws {
        let store = try await backend.open().adminTokens
        let (token, secret) = try await store.create(name: "alice", role: .approver)
        #expect(secret.hasPrefix("wda_") && token.id.hasPrefix("t_"))
        let found = try #require(try await store.authenticate(secret: secret))
        #expect(found.id == token.id && found.name == "alice" && found.role == .approver)
        #expect(try await store.authenticate(secret: secret + "x") == nil)
        #expect(try await store.isActive(id: token.id))
        let (other, _) = try await store.create(name: "bob", role: .viewer)
        #expect(try await store.list().map(\.id) == [token.id, other.id], "oldest first")
        try await store.revoke(id: token.id)
        #expect(try await store.authenticate(secret: secret) == nil)
        #expect(try await !store.isActive(id: token.id))
        #expect(try await !store.isActive(id: "t_unknown"))
        #expect(try await store.list().map(\.id) == [other.id])
        #expect(try await store.list(includingRevoked: true).count == 2)
        let again = await #expect(throws: StoreError.self) { try await store.revoke(id: token.id) }
        #expect(again?.code == .notFound)
        let unnamed = await #expect(throws: StoreError.self) { try await store.create(name: "", role: .admin) }
        #expect(unnamed?.code == .invalidRequest)
        #expect(AdminToken.Role.viewer < .approver && AdminToken.Role.approver < .admin)
    }
}
