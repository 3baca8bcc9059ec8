import Testing
import WardenJSON
import WardenMCP
import WardenStore
import WardenTesting

@testable import WardenGateway

/// Calls held for approval, with the test clock moved instead of waiting: nothing reaches the
/// server before a person approves, and every other ending answers the client with a denial.
@Suite(.timeLimit(.minutes(1))) struct HeldCallTests {
    @Test func anApprovedCallIsForwardedAndAnsweredUnderTheClientsId() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5", arguments: #"{"amount":3}"#)
        let approval = try await h.heldApproval()

        #expect(approval.tool == "refund")
        #expect(h.client.events == [.holding(5, .seconds(30)), .awaitingDecision(5, approval: approval.id)])
        #expect(h.server.sent.count == 1)  // Warden's tools/list; not the call
        _ = try await h.store.approvals.decide(id: approval.id, approve: true, by: "ops", reason: nil)
        h.clock.advance(by: PipelineHarness.pollInterval)

        let call = try await h.forwarded()
        #expect(call["params"]?["arguments"]?["amount"] == 3)
        #expect(call["id"]?.numberValue != nil)
        h.reply(to: call["id"])
        #expect(try await h.answer()["id"] == 5)
        let records = try await h.auditRecords()
        #expect(records.map(\.decision) == ["approval_required", "approved"])
        #expect(records.map(\.approval) == [approval.id, approval.id])
        #expect(records.last?.upstreamStatus == "ok")
    }

    @Test func aDeniedCallIsAnsweredWithTheApproversReasonAndItsCountsGivenBack() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        _ = try await h.store.approvals.decide(id: approval.id, approve: false, by: "ops", reason: "not today")
        h.clock.advance(by: PipelineHarness.pollInterval)

        let answer = try await h.answer()
        #expect(answer["id"] == 5)
        #expect(answer["result"]?["isError"] == true)
        #expect(answer.text?.contains("denied by ops: not today (approval \(approval.id))") == true)
        #expect(h.server.sent.count == 1)
        #expect(try await h.auditRecords().map(\.decision) == ["approval_required", "approval_denied"])

        // refund allows one call an hour: the denied one's count was given back.
        await h.call("refund", id: "6")
        try await h.client.event("the second refund held") { $0 == .holding(6, .seconds(30)) }
    }

    @Test func aCallNobodyDecidesExpiresAtItsDeadline() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        h.clock.advance(by: .seconds(29))
        try await h.clock.waitForSleepers()
        #expect(h.client.messages.isEmpty)  // still waiting a second before the deadline

        h.clock.advance(by: .seconds(1))
        let answer = try await h.answer()
        #expect(answer["id"] == 5)
        #expect(answer.text?.contains("not approved: nobody decided within 30s (approval \(approval.id))") == true)
        #expect(try await h.store.approvals.approval(id: approval.id)?.status == .expired)
        #expect(try await h.auditRecords().map(\.decision) == ["approval_required", "approval_expired"])
        #expect(h.server.sent.count == 1)
    }

    @Test func aCallTheClientCancelsStopsWaitingAndGetsNoAnswer() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        await h.send(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}"#)

        try await h.client.event("the call abandoned") { $0 == .abandoned(5) }
        #expect(h.client.messages.isEmpty)
        #expect(try await h.store.approvals.approval(id: approval.id)?.status == .cancelled)
        #expect(try await h.auditRecords().map(\.decision) == ["approval_required", "approval_cancelled"])
        #expect(h.server.sent.count == 1)  // the server never heard of it, nor of its cancellation
    }

    @Test func aHeldCallSendsProgressAtTheIntervalWhenTheClientAskedForIt() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5", meta: #"{"progressToken":"tok"}"#)
        _ = try await h.heldApproval()
        let first = try await h.answer()
        #expect(first["method"] == "notifications/progress")
        #expect(first["params"]?["progressToken"] == "tok")
        #expect(first["params"]?["progress"] == 1)

        h.clock.advance(by: PipelineHarness.pollInterval)  // a poll, not yet the interval
        try await h.clock.waitForSleepers()
        #expect(h.client.messages.count == 1)
        h.clock.advance(by: PipelineHarness.progressInterval - PipelineHarness.pollInterval)
        let second = try await h.answer()
        #expect(second["params"]?["progress"] == 2)
        #expect(h.client.events.contains { if case .messageAbout(_, id: 5) = $0 { true } else { false } })
    }

    @Test func aHeldCallIsRefusedWhenTheServerExitsWhileItWaits() async throws {
        let h = try PipelineHarness()
        await h.call("refund", id: "5")
        let approval = try await h.heldApproval()
        h.server.die()

        let answer = try await h.answer()
        #expect(answer["id"] == 5)
        #expect(answer.text?.contains("the server files exited") == true)
        #expect(try await h.store.approvals.approval(id: approval.id)?.status == .cancelled)
    }

    /// A harness whose one tool, `mine`, is held for the caller's own approval, with a client
    /// that declared the `elicitation` capability (its `initialize` answered).
    static func callerApproves() async throws -> PipelineHarness {
        let policy = """
            version: "1"
            default: deny
            tools:
              mine:
                action: require_approval
                reason: the user decides
                approval: {timeout: 30s, approvers: [user]}
            """
        let h = try PipelineHarness(policy: policy, tools: [["name": "mine"]])
        h.server.answer("initialize") { _ in .result(["protocolVersion": "2025-06-18", "capabilities": [:], "serverInfo": ["name": "fake", "version": "1"]]) }
        await h.send(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"t","version":"1"}}}"#)
        #expect(try await h.answer()["id"] == 0)
        #expect(try await h.forwarded()["method"] == "initialize")
        return h
    }

    @Test func theCallerApprovesTheirOwnCallThroughElicitation() async throws {
        let h = try await Self.callerApproves()
        await h.call("mine", id: "5", arguments: #"{"n":1}"#)

        let question = try await h.answer()
        #expect(question["method"] == "elicitation/create")
        #expect(question["params"]?["message"]?.stringValue?.contains("Warden holds a call to mine") == true)
        #expect(h.server.sent.count == 2, "initialize and Warden's tools/list; not the call")
        await h.send(JSONWriter.write(["jsonrpc": "2.0", "id": question["id"] ?? .null, "result": ["action": "accept", "content": ["approve": true]]]))
        h.clock.advance(by: PipelineHarness.pollInterval)

        let call = try await h.forwarded()
        #expect(call["params"]?["name"] == "mine")
        h.reply(to: call["id"])
        #expect(try await h.answer()["id"] == 5)
        let approval = try #require(try await h.store.approvals.list(status: .approved).first)
        #expect(approval.decidedBy == Approval.callerApprover)
        #expect(try await h.auditRecords().map(\.decision) == ["approval_required", "approved"])
    }

    @Test func theCallerDecliningTheirOwnCallDeniesIt() async throws {
        let h = try await Self.callerApproves()
        await h.call("mine", id: "6")

        let question = try await h.answer()
        #expect(question["method"] == "elicitation/create")
        await h.send(JSONWriter.write(["jsonrpc": "2.0", "id": question["id"] ?? .null, "result": ["action": "decline"]]))
        h.clock.advance(by: PipelineHarness.pollInterval)

        let answer = try await h.answer()
        #expect(answer["id"] == 6)
        #expect(answer["result"]?["isError"] == true)
        #expect(answer.text?.contains("the user did not approve") == true)
        #expect(h.server.sent.count == 2, "never forwarded")
        #expect(try await h.store.approvals.list(status: .denied).first?.decidedBy == Approval.callerApprover)
    }

    /// A call to `refund` under a real grant, approved by `ops` but not yet run: it is woken by
    /// its poll only (the store announces nothing), so what a test does next lands between the
    /// approval and the run. The gateway's own revocation check decides whether it still may.
    static func approvedNotYetRun(id: String) async throws -> (h: PipelineHarness, store: InMemoryStore, grant: String) {
        let store = InMemoryStore(announcesApprovals: false)
        let issued = try await store.grants.create(label: "ada", servers: ["files"], policy: "p")
        let h = try PipelineHarness(store: store, grant: issued.grant.id, revocation: HTTPGateway.revocation(in: store))
        await h.call("refund", id: id)
        let approval = try await h.heldApproval()
        _ = try await store.approvals.decide(id: approval.id, approve: true, by: "ops", reason: nil)
        return (h, store, issued.grant.id)
    }

    @Test func anApprovedCallWhoseGrantIsRevokedBeforeItRunsIsRefused() async throws {
        let (h, store, grant) = try await Self.approvedNotYetRun(id: "7")
        try await store.grants.revoke(id: grant)
        h.clock.advance(by: PipelineHarness.pollInterval)

        let answer = try await h.answer()
        #expect(answer["id"] == 7)
        #expect(answer["result"]?["isError"] == true)
        #expect(answer.text?.contains("approved by ops, but its grant was revoked or its token rotated before it ran") == true)
        #expect(h.server.sent.count == 1, "Warden's tools/list only: the call never ran")
        #expect(try await h.auditRecords().map(\.decision) == ["approval_required", "approval_cancelled"])
    }

    @Test func anApprovedCallWhoseGrantCannotBeCheckedIsRefused() async throws {
        let (h, store, _) = try await Self.approvedNotYetRun(id: "8")
        store.breakDown([.grants])
        h.clock.advance(by: PipelineHarness.pollInterval)

        let answer = try await h.answer()
        #expect(answer.text?.contains("but Warden could not check its grant in the state store before it ran") == true)
        #expect(h.server.sent.count == 1, "fails closed")
    }
}
