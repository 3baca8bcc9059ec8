import Testing
import WardenJSON
import WardenStore
import WardenTesting

@testable import WardenGateway

/// A held call learns its decision from the store's announcements (PostgreSQL's
/// LISTEN/NOTIFY; the in-memory store's ``ApprovalStore/changes()``) at once, without its
/// poll: the test clock never moves here, so only an announcement can wake it.
@Suite(.timeLimit(.minutes(1))) struct HeldCallAnnouncementTests {
    @Test func anAnnouncedApprovalWakesTheHeldCallWithoutThePoll() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5", arguments: #"{"amount":3}"#)
        let approval = try await h.heldApproval()
        #expect(h.server.sent.count == 1)  // Warden's tools/list; not the call

        // Decided through the store, as another instance would: the clock stays where it is.
        _ = try await h.store.approvals.decide(id: approval.id, approve: true, by: "ops", reason: nil)
        let call = try await h.forwarded()
        #expect(call["params"]?["arguments"]?["amount"] == 3)
        h.reply(to: call["id"])
        #expect(try await h.answer()["id"] == 5)
    }

    @Test func anAnnouncedDenialAnswersTheHeldCallWithoutThePoll() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        _ = try await h.store.approvals.decide(id: approval.id, approve: false, by: "ops", reason: "no")
        let answer = try await h.answer()
        #expect(answer["id"] == 5)
        #expect(answer.text?.contains("denied by ops: no") == true)
        #expect(h.server.sent.count == 1)
    }

    @Test func withoutAnnouncementsTheHeldCallWaitsForItsPoll() async throws {
        let h = try PipelineHarness(store: InMemoryStore(announcesApprovals: false))
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        _ = try await h.store.approvals.decide(id: approval.id, approve: true, by: "ops", reason: nil)
        try await h.clock.waitForSleepers()
        #expect(h.server.sent.count == 1)  // not yet: nobody told it

        h.clock.advance(by: PipelineHarness.pollInterval)
        let call = try await h.forwarded()
        #expect(call["method"] == "tools/call")
    }

    @Test func whenAnnouncementsEndTheHeldCallPollsAgain() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        h.store.endApprovalChanges()  // the store's connection was lost
        _ = try await h.store.approvals.decide(id: approval.id, approve: true, by: "ops", reason: nil)
        // Woken by the end, it reads the approval at once or at its next (short) poll.
        for _ in 0..<500 where h.server.sent.count == 1 {
            if h.clock.sleeperCount > 0 { h.clock.advance(by: PipelineHarness.pollInterval) }
            try await Task.sleep(for: .milliseconds(10))
        }
        let call = try await h.forwarded()
        #expect(call["method"] == "tools/call")
    }
}
