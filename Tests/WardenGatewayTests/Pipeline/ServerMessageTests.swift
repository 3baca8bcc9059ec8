import Foundation
import Testing
import WardenJSON
import WardenMCP
import WardenStore
import WardenTesting

@testable import WardenGateway

/// What the server sends besides answers (its requests, notifications, progress) reaches the
/// client unchanged; the client's cancellation reaches the server under Warden's id.
@Suite(.timeLimit(.minutes(1))) struct ServerMessageTests {
    @Test func aServerRequestReachesTheClientAndItsAnswerTheServerUnchanged() async throws {
        let h = try PipelineHarness()
        let request = #"{"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage","params":{"messages":[]}}"#
        h.server.push(request)
        #expect(String(decoding: try await h.client.nextMessage(), as: UTF8.self) == request)

        let answer = #"{"jsonrpc":"2.0","id":"s-1","result":{"role":"assistant"}}"#
        await h.send(answer)
        #expect(String(decoding: try await h.server.nextSent(), as: UTF8.self) == answer)
    }

    @Test func serverNotificationsAndProgressReachTheClientUnchanged() async throws {
        let h = try PipelineHarness()
        await h.call("echo", id: "1", meta: #"{"progressToken":"p"}"#)
        let call = try await h.forwarded()
        #expect(call["params"]?["_meta"]?["progressToken"] == "p")

        let progress = #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1,"total":2}}"#
        let log = #"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"half way"}}"#
        h.server.push(progress)
        h.server.push(log)
        h.reply(to: call["id"])
        #expect(String(decoding: try await h.client.nextMessage(), as: UTF8.self) == progress)
        #expect(String(decoding: try await h.client.nextMessage(), as: UTF8.self) == log)
        #expect(try await h.answer()["id"] == 1)
    }

    @Test func theClientsCancellationReachesTheServerUnderWardensIdAndTheLateAnswerIsDropped() async throws {
        let h = try PipelineHarness()
        await h.call("echo", id: #""c""#)
        let call = try await h.forwarded()
        await h.send(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c","reason":"user"}}"#)

        let cancel = try await h.forwarded()
        #expect(cancel["method"] == "notifications/cancelled")
        #expect(cancel["params"]?["requestId"] == call["id"])
        #expect(cancel["params"]?["reason"] == "user")
        #expect(h.client.events == [.abandoned("c")])
        let record = try #require(try await h.auditRecords().last)
        #expect(record.upstreamStatus == "no response (cancelled by the client)")

        h.reply(to: call["id"])  // too late: dropped
        h.server.push(#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#)
        #expect(try await h.answer()["method"] == "notifications/message")
    }

    @Test func aCancellationOfNoRequestInProgressGoesNowhere() async throws {
        let h = try PipelineHarness()
        await h.send(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#)
        await h.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)

        #expect(try await h.forwarded()["method"] == "notifications/initialized")
        #expect(h.server.sent.count == 1)
    }

    @Test func anErrorFromTheServerGivesTheCallsCountsBack() async throws {
        let h = try PipelineHarness()
        for id in 1...3 {
            await h.call("limited", id: "\(id)")
            let call = try await h.forwarded()
            h.server.push(["jsonrpc": "2.0", "id": call["id"] ?? .null, "error": ["code": -32000, "message": "failed"]])
            #expect(try await h.answer().errorCode == -32000)
        }
        // Three calls past a limit of two: each error gave its count back.
        #expect(try await h.auditRecords().map(\.upstreamStatus) == ["error -32000", "error -32000", "error -32000"])
    }

    @Test func anAnswerToNoRequestInProgressIsDropped() async throws {
        let h = try PipelineHarness()
        h.reply(to: 42)
        h.server.push(#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#)
        #expect(try await h.answer()["method"] == "notifications/message")
    }
}

/// A server that dies mid-call: every request still waiting is answered, its counts given
/// back, its call audited with no response.
@Suite(.timeLimit(.minutes(1))) struct UpstreamDeathTests {
    @Test func everyRequestInFlightIsAnsweredWithAnErrorAndItsCountsGivenBack() async throws {
        let store = InMemoryStore()
        let h = try PipelineHarness(store: store)
        await h.call("echo", id: "1")
        await h.call("limited", id: "2")
        await h.send(#"{"jsonrpc":"2.0","id":3,"method":"resources/list"}"#)
        try await h.server.waitForSent(4)
        h.server.die()

        var answers: [JSONValue] = []
        for _ in 1...3 { answers.append(try await h.answer()) }
        #expect(answers.map { $0["id"] } == [1, 2, 3])
        #expect(answers.allSatisfy { $0.errorCode == JSONRPCError.internalError })
        #expect(answers[0].text == "The server files exited before answering this request")
        await h.relay.value  // the relay's last audit flush is done
        let records = try await h.auditRecords()
        #expect(records.map(\.tool) == ["echo", "limited"])
        #expect(records.allSatisfy { $0.upstreamStatus == "no response" })

        // limited allows two calls an hour per identity: the one that died gave its count back.
        let next = try PipelineHarness(store: store)
        for id in 1...2 {
            await next.call("limited", id: "\(id)")
            #expect(try await next.forwarded()["params"]?["name"] == "limited")
        }
    }

    @Test func aCallAfterTheServerIsGoneIsAnsweredWithAnError() async throws {
        let h = try PipelineHarness()
        await h.call("echo", id: "1")
        let call = try await h.forwarded()
        h.reply(to: call["id"])
        _ = try await h.answer()
        h.server.die()
        await h.relay.value

        await h.call("echo", id: "2")
        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.internalError)
        #expect(answer.text == "The server files has exited")
        #expect(try await h.auditRecords().last?.upstreamStatus == "no response")
    }
}

/// A store that fails refuses the call (fail closed): nothing is forwarded.
@Suite(.timeLimit(.minutes(1))) struct StoreFailureTests {
    @Test func aCallIsRefusedWhenItsCountsCannotBeKept() async throws {
        let h = try PipelineHarness()
        h.store.breakDown([.counters])
        await h.call("limited", id: "1")

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.internalError)
        #expect(answer.text?.hasPrefix("[POLICY DENIED] state store unavailable: Warden could not reach its state store, so the call was not forwarded") == true)
        #expect(h.server.sent.count == 1)  // Warden's tools/list only
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])
    }

    @Test func aHeldCallIsRefusedWhenItsApprovalCannotBeStored() async throws {
        let h = try PipelineHarness()
        h.store.breakDown([.approvals])
        await h.call("refund", id: "1")

        let answer = try await h.answer()
        #expect(answer["id"] == 1)
        #expect(answer["result"]?["isError"] == true)
        #expect(answer.text?.hasPrefix("[POLICY DENIED] state store unavailable: Warden could not store the approval request") == true)
        #expect(h.server.sent.count == 1)
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])
    }

    @Test func aForwardedCallsIntentIsDurableBeforeTheServerSeesItAndItsRecordFinishesIt() async throws {
        let store = InMemoryStore(keepsIntents: true)
        let h = try PipelineHarness(store: store)
        let intents = try #require(store.audit.intents)
        let everything = CallIntent.Selection(decidedBefore: .distantFuture)
        let observer = CallIntent.Origin(holder: "7@observer.example", process: "observer-run")
        await h.call("echo", id: "1", arguments: #"{"text":"hi"}"#)

        let call = try await h.forwarded()
        let inFlight = try await intents.intents(everything, by: observer)
        #expect(inFlight.map(\.record.tool) == ["echo"], "written before the server got the call")
        #expect(inFlight.first?.record.decision == "allow" && inFlight.first?.record.upstreamStatus == nil)

        h.reply(to: call["id"])
        _ = try await h.answer()
        let record = try #require(try await h.auditRecords().last)
        #expect(record.upstreamStatus == "ok")
        #expect(try await intents.intents(everything, by: observer).isEmpty, "the call's record finished it")
    }

    @Test func aCallIsRefusedWhenItsIntentCannotBeWritten() async throws {
        let store = InMemoryStore(keepsIntents: true)
        let h = try PipelineHarness(store: store)
        store.breakDown([.intents])
        await h.call("limited", id: "1")

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.internalError)
        #expect(answer.text?.hasPrefix("[POLICY DENIED] state store unavailable: Warden could not record the call in its state store") == true)
        #expect(h.server.sent.count == 1)  // Warden's tools/list only
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])

        store.repair()
        await h.call("limited", id: "2")
        h.reply(to: try await h.forwarded()["id"])
        #expect(try await h.answer()["id"] == 2)
        await h.call("limited", id: "3")
        h.reply(to: try await h.forwarded()["id"])
        #expect(try await h.answer()["id"] == 3, "the refused call's count was given back (max 2)")
    }
}
