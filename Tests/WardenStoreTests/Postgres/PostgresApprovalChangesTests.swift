import Foundation
import Testing

@testable import WardenStore

/// Approvals travel between instances: what one store creates, decides or cancels reaches
/// the ``ApprovalStore/changes()`` iterators of another, by LISTEN/NOTIFY.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresApprovalChangesTests {
    func pending(grant: String? = nil) -> Approval {
        Approval(
            id: "", server: "pay", tool: "refund", identity: "agent", grant: grant, session: "s1", requestID: "7",
            arguments: #"{"amount":12}"#, rule: "/tools/refund/approval", message: "refunds need a person",
            approvers: [], holder: Approval.currentHolder, createdAt: Date(), expiresAt: Date().addingTimeInterval(600))
    }

    /// The next id `iterator` yields, or `nil` after `timeout`.
    func next(_ stream: AsyncStream<String>, within timeout: Duration) async throws -> String? {
        try await withDeadline(timeout, onTimeout: { StoreTestError("no announcement within \(timeout)") }) {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
    }

    @Test func aDecisionOnOneInstanceReachesTheOtherWellUnderASecond() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let holder = try await PostgresStore.open(configuration)
        let decider = try await PostgresStore.open(configuration)
        let changes = try #require(holder.approvals.changes())
        await holder.announcer.waitUntilListening()
        var seen = changes.makeAsyncIterator()

        let created = try await holder.approvals.create(pending())
        #expect(await seen.next() == created.id, "its own creation is announced too")

        _ = try await decider.approvals.decide(id: created.id, approve: true, by: "alice", reason: nil)
        // Committed: it is announced to the other instance by NOTIFY, not found by polling.
        let announced = try await next(changes, within: .seconds(1))
        #expect(announced == created.id)
        #expect(try await holder.approvals.approval(id: created.id)?.status == .approved)
        try await holder.close()
        try await decider.close()
    }

    @Test func everyIteratorHearsEveryChangeAndARevocationsCancellations() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let holder = try await PostgresStore.open(configuration)
        let other = try await PostgresStore.open(configuration)
        let first = try #require(holder.approvals.changes())
        let second = try #require(holder.approvals.changes())
        await holder.announcer.waitUntilListening()

        let grant = try await other.grants.create(label: "agent", servers: ["pay"], policy: "p")
        let created = try await other.approvals.create(pending(grant: grant.grant.id))
        try await other.grants.revoke(id: grant.grant.id)
        for stream in [first, second] {
            var iterator = stream.makeAsyncIterator()
            #expect(await iterator.next() == created.id, "created")
            #expect(await iterator.next() == created.id, "cancelled with its grant")
        }
        #expect(try await holder.approvals.approval(id: created.id)?.status == .cancelled)
        try await holder.close()
        try await other.close()
    }

    @Test func exactlyOneOfManyConcurrentDecisionsWins() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let stores = [try await PostgresStore.open(configuration), try await PostgresStore.open(configuration)]
        let created = try await stores[0].approvals.create(pending())
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for attempt in 0..<20 {
                let approvals = stores[attempt % 2].approvals
                group.addTask {
                    do {
                        _ = try await approvals.decide(id: created.id, approve: attempt % 3 == 0, by: "approver_\(attempt)", reason: nil)
                        return true
                    } catch let error as StoreError where error.code == .alreadyClosed {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        for store in stores { try await store.close() }
    }
}
