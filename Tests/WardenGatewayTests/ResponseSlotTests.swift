import Foundation
import Testing
import WardenJSON
import WardenStore

@testable import WardenGateway

@Suite struct ResponseSlotTests {
    static let approval = Approval(
        id: "a-1", server: "srv", tool: "t", identity: "alice", grant: nil, session: "s-1", requestID: "1", arguments: "{}",
        rule: "/tools/t/approval", message: "needs approval", approvers: [Approval.callerApprover], holder: "1@host",
        createdAt: Date(), expiresAt: Date().addingTimeInterval(60))

    @Test func aCallerAskedBeforeThePOSTWaitsIsStillAsked() async {
        // The call is decided on the POST's own thread, so it can be held before the POST waits.
        let slot = ResponseSlot(id: 1, deadline: .now + .seconds(10), whenHeld: .asksCaller)
        slot.awaitCaller(Self.approval)
        guard case .awaitingCaller(let approval) = await slot.outcome() else {
            Issue.record("the caller was not asked")
            return
        }
        #expect(approval.id == "a-1")
        slot.deliver(Array(#"{"jsonrpc":"2.0","id":1,"result":{}}"#.utf8))
        #expect(await slot.value() == Array(#"{"jsonrpc":"2.0","id":1,"result":{}}"#.utf8))
    }

    @Test func aHeldCallStreamsEvenWhenHeldBeforeThePOSTWaits() async {
        let slot = ResponseSlot(id: 1, deadline: .now + .seconds(10), whenHeld: .streams)
        slot.hold()
        #expect(slot.relate(Array("progress".utf8)))
        slot.deliver(Array("answer".utf8))
        guard case .held(let events) = await slot.outcome() else {
            Issue.record("no event stream")
            return
        }
        var messages: [String] = []
        for await message in events { messages.append(String(decoding: message, as: UTF8.self)) }
        #expect(messages == ["progress", "answer"])
    }
}
