import WardenStore

extension HTTPGateway {
    /// Why an approved call may no longer run: its grant was revoked or its token rotated
    /// since it was held, or the admin token that approved it was revoked. Fails closed.
    /// (Pending approvals of a revoked or rotated grant are cancelled with the grant itself.)
    static func revocation(in store: any StateStore) -> @Sendable (Approval) async -> String? {
        { approval in
            do {
                if let grant = approval.grant, try await !store.grants.isActive(id: grant, unchangedSince: approval.createdAt) {
                    return "its grant was revoked or its token rotated"
                }
                if let token = approval.decidedByToken, try await !store.adminTokens.isActive(id: token) {
                    return "the admin token that approved it was revoked"
                }
                return nil
            } catch {
                return "Warden could not check its grant in the state store"
            }
        }
    }
}
