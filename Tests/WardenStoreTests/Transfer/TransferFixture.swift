import Foundation
import WardenStore

/// A store filled through its public protocols with one of everything `warden store migrate`
/// carries: active, rotated and revoked grants, active and revoked admin tokens, pending and
/// decided approvals, and an audit log of `auditEntries` entries.
struct TransferFixture {
    /// The tokens that must keep working after a copy, and those that must not.
    var activeGrantTokens: [String] = []
    var deadGrantTokens: [String] = []
    var activeAdminSecret = ""
    var revokedAdminSecret = ""
    /// The approval ids: one pending, one approved through an admin token.
    var approvals: [String] = []

    static func fill(_ store: any StateStore, auditEntries: Int) async throws -> TransferFixture {
        var fixture = TransferFixture()
        let first = try await store.grants.create(
            label: "ci-agent", servers: ["time", "git"], policy: "policies/time.yaml", identity: "ci", identityLabels: ["team": "infra", "env": "prod"])
        let second = try await store.grants.create(label: "rotated", servers: ["time"], policy: "p.yaml")
        let rotated = try await store.grants.rotate(id: second.grant.id)
        let third = try await store.grants.create(label: "revoked", servers: ["time"], policy: "p.yaml")
        try await store.grants.revoke(id: third.grant.id)
        fixture.activeGrantTokens = [first.token, rotated.token]
        fixture.deadGrantTokens = [second.token, third.token]

        let alice = try await store.adminTokens.create(name: "alice", role: .approver)
        let bob = try await store.adminTokens.create(name: "bob", role: .admin)
        try await store.adminTokens.revoke(id: bob.token.id)
        fixture.activeAdminSecret = alice.secret
        fixture.revokedAdminSecret = bob.secret

        let now = Date()
        for tool in ["transfer_funds", "delete_repo"] {
            let approval = try await store.approvals.create(
                Approval(
                    id: "", server: "time", tool: tool, identity: "ci", grant: first.grant.id, session: "s-1", requestID: "7",
                    arguments: #"{"amount":5}"#, rule: "/tools/\(tool)", message: "needs a person", approvers: ["alice"],
                    holder: "1@another-host", createdAt: now, expiresAt: now.addingTimeInterval(600)))
            fixture.approvals.append(approval.id)
        }
        _ = try await store.approvals.decide(id: fixture.approvals[1], approve: true, by: "alice", token: alice.token.id, reason: "fine")

        var written = 0
        while written < auditEntries {
            let count = min(400, auditEntries - written)
            var records: [AuditRecord] = []
            for index in 0..<count {
                let time: Date = now.addingTimeInterval(Double(written + index) / 1000)
                let identity: String = index % 2 == 0 ? "ci" : "alice"
                let decision: String = index % 5 == 0 ? "deny" : "allow"
                records.append(AuditRecord(time: time, identity: identity, method: "tools/call", tool: "get_time_\(index % 7)", decision: decision))
            }
            try await store.audit.append(records)
            written += count
        }
        return fixture
    }

    /// Checks what a copy must keep working: the tokens, and none of the dead ones.
    func expectTokensWork(in store: any StateStore) async throws -> [String] {
        var problems: [String] = []
        for token in activeGrantTokens where try await store.grants.authenticate(token: token) == nil {
            problems.append("an active grant token no longer authenticates")
        }
        for token in deadGrantTokens where try await store.grants.authenticate(token: token) != nil {
            problems.append("a revoked or replaced grant token authenticates")
        }
        if try await store.adminTokens.authenticate(secret: activeAdminSecret)?.name != "alice" {
            problems.append("the active admin token no longer authenticates")
        }
        if try await store.adminTokens.authenticate(secret: revokedAdminSecret) != nil {
            problems.append("the revoked admin token authenticates")
        }
        return problems
    }
}
