import Foundation
import Testing

@testable import WardenStore

/// What only SQLite has: separate connections to one file. The rest is in the conformance suite.
@Suite struct SQLiteApprovalStoreTests {
    @Test func concurrentDecisionsFromSeparateConnectionsHaveExactlyOneWinner() async throws {
        let path = temporaryDatabasePath()
        let now = Date()
        let created = try await SQLiteStore(path: path).approvals.create(
            Approval(
                id: "", server: "pay", tool: "refund", identity: "agent", grant: "g_1", session: "s1", requestID: "7", arguments: "{}",
                rule: "/tools/refund/approval", message: "refunds need a person", approvers: [], holder: Approval.currentHolder,
                createdAt: now, expiresAt: now.addingTimeInterval(600)))
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
}
