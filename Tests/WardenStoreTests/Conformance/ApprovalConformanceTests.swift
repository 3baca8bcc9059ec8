import Foundation
import Testing
import WardenJSON

@testable import WardenStore

/// Held calls, on every backend: decided once, expired, cancelled with their grant.
@Suite struct ApprovalConformanceTests {
    func pending(grant: String? = "g_1", approvers: [String] = [], holder: String = Approval.currentHolder, now: Date = Date()) -> Approval {
        Approval(
            id: "", server: "pay", tool: "refund", identity: "agent", grant: grant, session: "s1", requestID: "7",
            arguments: #"{"amount":12}"#, rule: "/tools/refund/approval", message: "refunds need a person",
            approvers: approvers, holder: holder, createdAt: now, expiresAt: now.addingTimeInterval(600))
    }

    @Test(arguments: Backend.all) func aPendingApprovalIsDecidedOnceAndKeepsWhoAndWhy(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let created = try await store.create(pending())
        #expect(created.id.hasPrefix("a_") && created.status == .pending)
        #expect(try await store.list(status: .pending).map(\.id) == [created.id])
        let decided = try await store.decide(id: created.id, approve: false, by: "alice", reason: "too much")
        #expect(decided.status == .denied && decided.decidedBy == "alice" && decided.reason == "too much" && decided.decidedAt != nil)
        let again = await #expect(throws: StoreError.self) {
            try await store.decide(id: created.id, approve: true, by: "bob", reason: nil)
        }
        #expect(again?.code == .alreadyClosed && again?.description == "approval \(created.id) is already denied by alice")
        #expect(try await store.close(id: created.id, as: .expired, reason: "late")?.status == .denied, "a decision is final")
        #expect(try await store.list(status: .pending).isEmpty)
        #expect(try await store.close(id: "a_missing", as: .expired, reason: "late") == nil)
    }

    @Test(arguments: Backend.all) func listsAreNewestFirstAndBounded(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let start = Date()
        var ids: [String] = []
        for index in 0..<3 { ids.append(try await store.create(pending(now: start.addingTimeInterval(Double(index)))).id) }
        #expect(try await store.list().map(\.id) == ids.reversed())
        #expect(try await store.list(status: nil, limit: 2).map(\.id) == [ids[2], ids[1]])
        _ = try await store.decide(id: ids[0], approve: true, by: "alice", reason: nil)
        #expect(try await store.list(status: .approved).map(\.id) == [ids[0]])
    }

    @Test(arguments: Backend.all) func unknownIdsAndApproversTheRuleDoesNotNameAreRefused(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let missing = await #expect(throws: StoreError.self) { try await store.decide(id: "a_missing", approve: true, by: "alice", reason: nil) }
        #expect(missing?.code == .notFound)
        let created = try await store.create(pending(approvers: ["alice", "user"]))
        let refused = await #expect(throws: StoreError.self) { try await store.decide(id: created.id, approve: true, by: "mallory", reason: nil) }
        #expect(refused?.code == .notAnApprover)
        #expect(try await store.decide(id: created.id, approve: true, by: "user", reason: nil).status == .approved)
        let unnamed = try await store.create(pending(approvers: ["alice"]))
        let caller = await #expect(throws: StoreError.self) { try await store.decide(id: unnamed.id, approve: true, by: "user", reason: nil) }
        #expect(caller?.code == .notAnApprover, "the caller decides only when the policy names `user`")
        let callerOnly = try await store.create(pending(approvers: ["user"]))
        let other = await #expect(throws: StoreError.self) { try await store.decide(id: callerOnly.id, approve: true, by: "alice", reason: nil) }
        #expect(other?.code == .notAnApprover, "a rule naming only the caller is the caller's to decide")
        let anyone = try await store.create(pending())
        let user = await #expect(throws: StoreError.self) { try await store.decide(id: anyone.id, approve: true, by: "user", reason: nil) }
        #expect(user?.code == .notAnApprover)
        #expect(try await store.approval(id: anyone.id)?.status == .pending, "a refused decision changes nothing")
    }

    @Test(arguments: Backend.all) func anExpiredApprovalCannotBeDecidedAndIsClosedByAnyone(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let old = try await store.create(pending(now: Date().addingTimeInterval(-700)))
        let late = await #expect(throws: StoreError.self) { try await store.decide(id: old.id, approve: true, by: "alice", reason: nil) }
        #expect(late?.code == .alreadyClosed && late?.description == "approval \(old.id) has expired")
        #expect(try await store.approval(id: old.id)?.status == .expired)
        let forgotten = try await store.create(pending(now: Date().addingTimeInterval(-700)))
        #expect(try await store.closeAbandoned() == 1, "a minute past its expiry, a pending approval is closed whoever holds it")
        #expect(try await store.approval(id: forgotten.id)?.status == .expired)
    }

    @Test(arguments: Backend.all) func concurrentDecisionsHaveExactlyOneWinner(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let created = try await store.create(pending())
        let winners = await withTaskGroup(of: String?.self) { group in
            for index in 0..<12 {
                group.addTask {
                    let approval = try? await store.decide(id: created.id, approve: index % 2 == 0, by: "approver-\(index)", reason: nil)
                    return approval == nil ? nil : "approver-\(index)"
                }
            }
            return await group.reduce(into: [String]()) { if let winner = $1 { $0.append(winner) } }
        }
        #expect(winners.count == 1)
        #expect(try await store.approval(id: created.id)?.decidedBy == winners.first)
    }

    @Test(arguments: Backend.all) func approvalsOfHoldersThatAreGoneAreCancelled(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let mine = try await store.create(pending())
        let gone = try await store.create(pending(holder: "999999@\(ProcessInfo.processInfo.hostName)"))
        let elsewhere = try await store.create(pending(holder: "1@another-host"))
        #expect(try await store.closeAbandoned() == 1)
        let cancelled = try #require(try await store.approval(id: gone.id))
        #expect(cancelled.status == .cancelled && cancelled.reason == "the gateway holding the call stopped")
        #expect(try await store.approval(id: mine.id)?.status == .pending)
        #expect(try await store.approval(id: elsewhere.id)?.status == .pending, "other hosts' gateways are not judged")
    }

    @Test(arguments: Backend.all) func theJSONFormRoundTrips(_ backend: Backend) async throws {
        let store = try await backend.open().approvals
        let created = try await store.create(pending(approvers: ["alice"]))
        let decided = try await store.decide(id: created.id, approve: true, by: "alice", reason: "ok")
        let json = decided.json
        #expect(json["arguments"] == ["amount": 12])
        let read = try #require(Approval(json: try JSONReader.parse(JSONWriter.write(json))))
        #expect(read.id == decided.id && read.status == .approved && read.decidedBy == "alice" && read.approvers == ["alice"])
        #expect(abs(read.createdAt.timeIntervalSince(decided.createdAt)) < 0.002, "kept to the millisecond")
    }

    @Test(arguments: Backend.all) func revokingOrRotatingAGrantCancelsItsPendingApprovalsAtOnce(_ backend: Backend) async throws {
        let store = try await backend.open()
        let revoked = try await store.grants.create(label: "a", servers: ["pay"], policy: "p.yaml").grant
        let rotated = try await store.grants.create(label: "b", servers: ["pay"], policy: "p.yaml").grant
        let first = try await store.approvals.create(pending(grant: revoked.id))
        let second = try await store.approvals.create(pending(grant: rotated.id))
        let unrelated = try await store.approvals.create(pending(grant: "g_other"))
        try await store.grants.revoke(id: revoked.id)
        _ = try await store.grants.rotate(id: rotated.id)
        for (id, reason) in [(first.id, "the grant was revoked"), (second.id, "the grant's token was rotated")] {
            let closed = try #require(try await store.approvals.approval(id: id))
            #expect(closed.status == .cancelled && closed.reason == reason)
            await #expect(throws: StoreError.self) { try await store.approvals.decide(id: id, approve: true, by: "alice", reason: nil) }
        }
        #expect(try await store.approvals.approval(id: unrelated.id)?.status == .pending)
        // A call decided before the rotation, whose approval is stored after it, is cancelled
        // when stored; one decided after it, under the new token, is not.
        let late = try await store.approvals.create(pending(grant: rotated.id, now: Date().addingTimeInterval(-60)))
        #expect(late.status == .cancelled)
        let fresh = try await store.approvals.create(pending(grant: rotated.id, now: Date().addingTimeInterval(1)))
        #expect(fresh.status == .pending)
    }

    @Test(arguments: Backend.all) func anApprovalByARevokedAdminTokenIsSeenAsSuchAndCanBeWithdrawn(_ backend: Backend) async throws {
        let store = try await backend.open()
        let (token, _) = try await store.adminTokens.create(name: "alice", role: .approver)
        let held = try await store.approvals.create(pending(grant: "g_jwt"))
        let approved = try await store.approvals.decide(id: held.id, approve: true, by: "alice", token: token.id, reason: nil)
        #expect(approved.decidedByToken == token.id)
        try await store.adminTokens.revoke(id: token.id)
        #expect(try await !store.adminTokens.isActive(id: token.id))
        try await store.approvals.withdraw(id: held.id, reason: "the admin token that approved it was revoked")
        let withdrawn = try #require(try await store.approvals.approval(id: held.id))
        #expect(withdrawn.status == .cancelled && withdrawn.reason == "the admin token that approved it was revoked")
        let denied = try await store.approvals.create(pending(grant: "g_jwt"))
        _ = try await store.approvals.decide(id: denied.id, approve: false, by: "alice", reason: nil)
        try await store.approvals.withdraw(id: denied.id, reason: "x")
        #expect(try await store.approvals.approval(id: denied.id)?.status == .denied, "only an approval given is withdrawn")
    }
}
