import Foundation
import WardenStore

extension InMemoryStore {
    struct Grants: GrantStore {
        let store: InMemoryStore

        func create(
            label: String, servers: [String], policy: String, identity: String?, identityLabels: [String: String], now: Date
        ) async throws -> IssuedGrant {
            let issued = try IssuedGrant(
                label: label, servers: servers, policy: policy, identity: identity, identityLabels: identityLabels, now: now)
            try store.access(.grants) { state in
                state.grants.append(issued.grant)
                state.grantTokens[Secrets.hash(issued.token)] = issued.grant.id
            }
            return issued
        }

        func list(includingRevoked: Bool) async throws -> [Grant] {
            try store.access(.grants) { state in
                state.grants.filter { includingRevoked || $0.isActive }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            }
        }

        func authenticate(token: String) async throws -> Grant? {
            try store.access(.grants) { state in
                state.grantTokens[Secrets.hash(token)].flatMap { id in state.grants.first { $0.id == id && $0.isActive } }
            }
        }

        func rotate(id: String, now: Date) async throws -> IssuedGrant {
            let token = Secrets.newSecret(prefix: Grant.tokenPrefix)
            let grant = try change(id: id, now: now, cancelling: "the grant's token was rotated") { state, grant in
                grant.rotatedAt = now
                state.grantTokens = state.grantTokens.filter { $0.value != id }
                state.grantTokens[Secrets.hash(token)] = id
            }
            return IssuedGrant(grant: grant, token: token)
        }

        func revoke(id: String, now: Date) async throws {
            _ = try change(id: id, now: now, cancelling: "the grant was revoked") { state, grant in
                grant.revokedAt = now
                state.grantTokens = state.grantTokens.filter { $0.value != id }
            }
        }

        func isActive(id: String, unchangedSince since: Date) async throws -> Bool {
            try store.access(.grants) { state in
                state.grants.first { $0.id == id }.map { !$0.wasChanged(since: since) } ?? false
            }
        }

        /// Changes the active grant `id` and cancels its pending approvals, in one step.
        private func change(
            id: String, now: Date, cancelling reason: String, _ body: (inout State, inout Grant) -> Void
        ) throws -> Grant {
            let (grant, cancelled) = try store.access(.grants) { state in
                guard let index = state.grants.firstIndex(where: { $0.id == id && $0.isActive }) else {
                    throw StoreError(.notFound, "no active grant \(id)")
                }
                var grant = state.grants[index]
                body(&state, &grant)
                state.grants[index] = grant
                var cancelled: [String] = []
                for (key, approval) in state.approvals where approval.grant == id && approval.status == .pending {
                    state.approvals[key] = Approvals.closed(approval, as: .cancelled, by: nil, reason: reason, now: now)
                    cancelled.append(key)
                }
                return (grant, cancelled)
            }
            store.announce(cancelled)
            return grant
        }
    }
}
