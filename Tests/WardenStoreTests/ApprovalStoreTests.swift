import Foundation
import GRDB
import Testing
import WardenJSON

@testable import WardenStore

@Suite struct ApprovalStoreTests {
    func pending(approvers: [String] = [], holder: String = ApprovalStore.currentHolder, now: Date = Date()) -> Approval {
        Approval(
            id: "", server: "pay", tool: "refund", identity: "agent", grant: "g_1", session: "s1", requestID: "7",
            arguments: #"{"amount":12}"#, rule: "/tools/refund/approval", message: "refunds need a person",
            approvers: approvers, holder: holder, createdAt: now, expiresAt: now.addingTimeInterval(600))
    }

    @Test func aPendingApprovalIsDecidedOnceAndKeepsWhoAndWhy() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath()).approvals
        let created = try await store.create(pending())
        #expect(created.id.hasPrefix("a_") && created.status == .pending)
        #expect(try await store.list(status: .pending).map(\.id) == [created.id])
        let decided = try await store.decide(id: created.id, approve: false, by: "alice", reason: "too much")
        #expect(decided.status == .denied && decided.decidedBy == "alice" && decided.reason == "too much" && decided.decidedAt != nil)
        await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: created.id, approve: true, by: "bob", reason: nil)
        }
        #expect(try await store.close(id: created.id, as: .expired, reason: "late")?.status == .denied, "a decision is final")
        #expect(try await store.list(status: .pending).isEmpty)
    }

    @Test func unknownIdsAndApproversTheRuleDoesNotNameAreRefused() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath()).approvals
        let failure = await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: "a_missing", approve: true, by: "alice", reason: nil)
        }
        #expect(failure?.kind == .notFound)
        let created = try await store.create(pending(approvers: ["alice", "user"]))
        let refused = await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: created.id, approve: true, by: "mallory", reason: nil)
        }
        #expect(refused?.kind == .notAnApprover)
        #expect(try await store.decide(id: created.id, approve: true, by: "user", reason: nil).status == .approved)
        let unnamed = try await store.create(pending(approvers: ["alice"]))
        let caller = await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: unnamed.id, approve: true, by: "user", reason: nil)
        }
        #expect(caller?.kind == .notAnApprover, "the caller decides only when the policy names `user`")
        let callerOnly = try await store.create(pending(approvers: ["user"]))
        let other = await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: callerOnly.id, approve: true, by: "alice", reason: nil)
        }
        #expect(other?.kind == .notAnApprover, "a rule naming only the caller is the caller's to decide")
        let anyone = try await store.create(pending())
        await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: anyone.id, approve: true, by: "user", reason: nil)
        }
    }

    @Test func anExpiredApprovalCannotBeDecidedAndIsClosedByAnyone() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath()).approvals
        let old = try await store.create(pending(now: Date().addingTimeInterval(-700)))
        let late = await #expect(throws: ApprovalStore.Failure.self) {
            try await store.decide(id: old.id, approve: true, by: "alice", reason: nil)
        }
        #expect(late?.description == "approval \(old.id) has expired")
        #expect(try await store.approval(id: old.id)?.status == .expired)
        let forgotten = try await store.create(pending(now: Date().addingTimeInterval(-700)))
        #expect(try await store.closeAbandoned() == 1, "a minute past its expiry, a pending approval is closed whoever holds it")
        #expect(try await store.approval(id: forgotten.id)?.status == .expired)
    }

    @Test func concurrentDecisionsFromSeparateConnectionsHaveExactlyOneWinner() async throws {
        let path = temporaryDatabasePath()
        let created = try await SQLiteStore(path: path).approvals.create(pending())
        // Each decider has its own pool, like separate `warden approvals` processes.
        let stores = try (0..<12).map { _ in try SQLiteStore(path: path).approvals }
        let winners = await withTaskGroup(of: String?.self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    let approval = try? await store.decide(id: created.id, approve: index % 2 == 0, by: "approver-\(index)", reason: nil)
                    return approval == nil ? nil : "approver-\(index)"
                }
            }
            return await group.reduce(into: [String]()) { if let winner = $1 { $0.append(winner) } }
        }
        #expect(winners.count == 1)
        let final = try #require(try await stores[0].approval(id: created.id))
        #expect(final.decidedBy == winners.first)
    }

    @Test func approvalsOfHoldersThatAreGoneAreCancelled() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath()).approvals
        let mine = try await store.create(pending())
        let gone = try await store.create(pending(holder: "999999@\(ProcessInfo.processInfo.hostName)"))
        let elsewhere = try await store.create(pending(holder: "1@another-host"))
        #expect(try await store.closeAbandoned() == 1)
        #expect(try await store.approval(id: gone.id)?.status == .cancelled)
        #expect(try await store.approval(id: mine.id)?.status == .pending)
        #expect(try await store.approval(id: elsewhere.id)?.status == .pending, "other hosts' gateways are not judged")
    }

    @Test func theJSONFormRoundTrips() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath()).approvals
        let created = try await store.create(pending(approvers: ["alice"]))
        let decided = try await store.decide(id: created.id, approve: true, by: "alice", reason: "ok")
        let json = decided.json
        #expect(json["arguments"] == ["amount": 12])
        let read = try #require(Approval(json: try JSONReader.parse(JSONWriter.write(json))))
        #expect(read.id == decided.id && read.status == .approved && read.decidedBy == "alice" && read.approvers == ["alice"])
        #expect(abs(read.createdAt.timeIntervalSince(decided.createdAt)) < 0.002, "kept to the millisecond")
    }
}

@Suite struct AdminTokenStoreTests {
    @Test func tokensAuthenticateWithTheirRoleUntilRevoked() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath()).adminTokens
        let (token, secret) = try store.create(name: "alice", role: .approver)
        #expect(secret.hasPrefix("wda_"))
        let found = try #require(try await store.authenticate(secret: secret))
        #expect(found.id == token.id && found.name == "alice" && found.role == .approver)
        #expect(try await store.authenticate(secret: secret + "x") == nil)
        try store.revoke(id: token.id)
        #expect(try await store.authenticate(secret: secret) == nil)
        #expect(try store.list().isEmpty)
        #expect(try store.list(includingRevoked: true).count == 1)
        #expect(AdminToken.Role.viewer < .approver && AdminToken.Role.approver < .admin)
    }
}

@Suite struct RevocationTests {
    func approval(grant: String, at time: Date) -> Approval {
        Approval(
            id: "", server: "pay", tool: "refund", identity: "agent", grant: grant, session: "s1", requestID: "7",
            arguments: "{}", rule: "/tools/refund/approval", message: "refunds need a person", approvers: [],
            holder: ApprovalStore.currentHolder, createdAt: time, expiresAt: time.addingTimeInterval(600))
    }

    @Test func revokingOrRotatingAGrantCancelsItsPendingApprovalsAtOnce() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let revoked = try store.grants.create(label: "a", servers: ["pay"], policy: "p.yaml").grant
        let rotated = try store.grants.create(label: "b", servers: ["pay"], policy: "p.yaml").grant
        let first = try await store.approvals.create(approval(grant: revoked.id, at: Date()))
        let second = try await store.approvals.create(approval(grant: rotated.id, at: Date()))
        try store.grants.revoke(id: revoked.id)
        _ = try store.grants.rotate(id: rotated.id)
        for (id, reason) in [(first.id, "the grant was revoked"), (second.id, "the grant's token was rotated")] {
            let closed = try #require(try await store.approvals.approval(id: id))
            #expect(closed.status == .cancelled && closed.reason == reason)
            await #expect(throws: ApprovalStore.Failure.self) { try await store.approvals.decide(id: id, approve: true, by: "alice", reason: nil) }
        }
        // A call decided before the rotation, whose approval is stored after it, is cancelled
        // when stored; one decided after it, under the new token, is not.
        let late = try await store.approvals.create(approval(grant: rotated.id, at: Date().addingTimeInterval(-60)))
        #expect(late.status == .cancelled)
        let fresh = try await store.approvals.create(approval(grant: rotated.id, at: Date().addingTimeInterval(1)))
        #expect(fresh.status == .pending)
        #expect(try await !store.grants.isActive(id: rotated.id, unchangedSince: Date().addingTimeInterval(-60)))
        #expect(try await store.grants.isActive(id: rotated.id, unchangedSince: Date().addingTimeInterval(1)))
        #expect(try await !store.grants.isActive(id: "g_unknown", unchangedSince: Date()))
    }

    @Test func anApprovalByARevokedAdminTokenIsSeenAsSuchAndCanBeWithdrawn() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let (token, _) = try store.adminTokens.create(name: "alice", role: .approver)
        let held = try await store.approvals.create(approval(grant: "g_jwt", at: Date()))
        let approved = try await store.approvals.decide(id: held.id, approve: true, by: "alice", token: token.id, reason: nil)
        #expect(approved.decidedByToken == token.id)
        #expect(try await store.adminTokens.isActive(id: token.id))
        try store.adminTokens.revoke(id: token.id)
        #expect(try await !store.adminTokens.isActive(id: token.id))
        try await store.approvals.withdraw(id: held.id, reason: "the admin token that approved it was revoked")
        #expect(try await store.approvals.approval(id: held.id)?.status == .cancelled)
    }
}
