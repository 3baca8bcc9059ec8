import Testing
import WardenJSON
import WardenMCP
import WardenStore
import WardenTesting

@testable import WardenGateway

/// Batches (JSON-RPC arrays): each element policed on its own, the refused ones answered in
/// the batch's response; and ids that repeat a request still in progress.
@Suite(.timeLimit(.minutes(1))) struct BatchTests {
    @Test func refusedElementsAreAnsweredInTheServersBatchResponse() async throws {
        let h = try PipelineHarness()
        await h.send(
            #"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}},"#
                + #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete"}},"#
                + #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}]"#)

        let batch = try #require(try await h.forwarded().arrayValue)
        #expect(batch.count == 2)
        #expect(batch[0]["params"]?["name"] == "echo")
        #expect(batch[1]["method"] == "notifications/progress")
        h.server.push(.array([["jsonrpc": "2.0", "id": batch[0]["id"] ?? .null, "result": ["content": []]]]))

        let answers = try #require(try await h.answer().arrayValue)
        #expect(answers.map { $0["id"] } == [1, 2])
        #expect(answers[1]["result"]?["isError"] == true)
        #expect(try await h.auditRecords().map(\.decision).sorted() == ["allow", "deny"])
    }

    @Test func aBatchWhollyRefusedIsAnsweredAtOnce() async throws {
        let h = try PipelineHarness()
        await h.send(
            #"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete"}},"#
                + #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"secret"}}]"#)

        let answers = try #require(try await h.answer().arrayValue)
        #expect(answers.map { $0["id"] } == [1, 2])
        #expect(answers[1].errorCode == JSONRPCError.invalidParams)
        #expect(h.server.sent.count == 1)  // Warden's tools/list only
    }

    @Test func anIdRepeatedWithinABatchIsAnInvalidRequest() async throws {
        let h = try PipelineHarness()
        await h.send(
            #"[{"jsonrpc":"2.0","id":"x","method":"ping"},{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"echo"}}]"#)

        let batch = try #require(try await h.forwarded().arrayValue)
        #expect(batch.map { $0["method"] } == ["ping"])
        h.server.push(.array([["jsonrpc": "2.0", "id": batch[0]["id"] ?? .null, "result": [:]]]))
        let answers = try #require(try await h.answer().arrayValue)
        #expect(answers.count == 2)
        #expect(answers[1]["id"] == "x")
        #expect(answers[1].errorCode == JSONRPCError.invalidRequest)
        #expect(answers[1].text == "Invalid Request: id \"x\" repeats an earlier request of this batch")
    }

    @Test func anEmptyBatchIsAnInvalidRequest() async throws {
        let h = try PipelineHarness()
        await h.send("[]")

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.invalidRequest)
        #expect(h.server.sent.isEmpty)
    }

    @Test func anIdOfARequestStillInProgressIsRefusedUntilItIsAnswered() async throws {
        let h = try PipelineHarness()
        await h.call("echo", id: "7")
        let first = try await h.forwarded()
        await h.call("echo", id: "7")

        let refused = try await h.answer()
        #expect(refused["id"] == 7)
        #expect(refused.errorCode == JSONRPCError.invalidRequest)
        #expect(refused.text == "Invalid Request: a request with id 7 is already in progress")

        h.reply(to: first["id"])
        #expect(try await h.answer()["id"] == 7)
        await h.call("echo", id: "7")
        #expect(try await h.forwarded()["id"] != first["id"])  // answered: the id may be used again
    }
}
