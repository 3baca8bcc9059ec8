import Foundation
import WardenStore

extension InMemoryStore {
    struct AdminTokens: AdminTokenStore {
        let store: InMemoryStore

        func create(name: String, role: AdminToken.Role, now: Date) async throws -> (token: AdminToken, secret: String) {
            let (token, secret) = try AdminToken.issue(name: name, role: role, now: now)
            try store.access(.adminTokens) { state in
                state.adminTokens.append(token)
                state.adminSecrets[Secrets.hash(secret)] = token.id
            }
            return (token, secret)
        }

        func list(includingRevoked: Bool) async throws -> [AdminToken] {
            try store.access(.adminTokens) { state in
                state.adminTokens.filter { includingRevoked || $0.revokedAt == nil }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            }
        }

        func authenticate(secret: String) async throws -> AdminToken? {
            try store.access(.adminTokens) { state in
                state.adminSecrets[Secrets.hash(secret)].flatMap { id in state.adminTokens.first { $0.id == id && $0.revokedAt == nil } }
            }
        }

        func isActive(id: String) async throws -> Bool {
            try store.access(.adminTokens) { state in state.adminTokens.contains { $0.id == id && $0.revokedAt == nil } }
        }

        func revoke(id: String, now: Date) async throws {
            try store.access(.adminTokens) { state in
                guard let index = state.adminTokens.firstIndex(where: { $0.id == id && $0.revokedAt == nil }) else {
                    throw StoreError(.notFound, "no active admin token \(id)")
                }
                state.adminTokens[index].revokedAt = now
            }
        }
    }
}
