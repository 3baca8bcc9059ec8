import Testing
import WardenJSON
import WardenMCP
import WardenStore
import WardenTesting

@testable import WardenGateway

/// `tools/list` results lose the hidden tools; a call to a tool not yet seen makes Warden list
/// the server's tools itself, every page, once.
@Suite(.timeLimit(.minutes(1))) struct ToolListTests {
    @Test func theClientsToolsListLosesTheHiddenToolsAndKeepsItsId() async throws {
        let h = try PipelineHarness()
        await h.send(#"{"jsonrpc":"2.0","id":"list","method":"tools/list"}"#)

        let request = try await h.forwarded()
        #expect(request["id"]?.numberValue != nil)
        let answer = try await h.answer()
        #expect(answer["id"] == "list")
        let names = answer["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names?.contains("echo") == true)
        #expect(names?.contains("secret") == false)
    }

    @Test func aToolTheClientListedIsCalledWithoutWardenListingAgain() async throws {
        let h = try PipelineHarness()
        await h.send(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        _ = try await h.answer()
        await h.call("echo", id: "2")

        #expect(try await h.forwarded()["method"] == "tools/list")  // the client's, under Warden's id
        let call = try await h.forwarded()
        #expect(call["method"] == "tools/call")
        #expect(h.server.sent.count == 2)  // the client's list and the call: no list of Warden's own
    }

    @Test func aCallToAToolNotYetListedMakesWardenListEveryPageItself() async throws {
        let h = try PipelineHarness(tools: nil)
        h.server.answer("tools/list") { request in
            request["params"]?["cursor"] == "page-2"
                ? .result(["tools": [["name": "echo"]]])
                : .result(["tools": [["name": "delete"]], "nextCursor": "page-2"])
        }
        await h.call("echo", id: "1")
        await h.call("nonexistent", id: "2")  // the list is complete: no third listing

        let sent = try h.server.sent.map { try JSONReader.parse($0) }
        #expect(sent.map { $0["method"] } == ["tools/list", "tools/list", "tools/call"])
        #expect(sent[0]["params"]?["cursor"] == nil)
        #expect(sent[1]["params"]?["cursor"] == "page-2")
        #expect(sent[0]["id"] != sent[1]["id"])
        #expect(try await h.answer().text == "Unknown tool: nonexistent")
    }

    @Test func listChangedMakesWardenListAgain() async throws {
        let h = try PipelineHarness()
        await h.call("echo", id: "1")
        h.server.push(#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#)
        #expect(try await h.answer()["method"] == "notifications/tools/list_changed")  // passed on to the client too
        await h.call("echo", id: "2")

        let methods = try h.server.sent.map { try JSONReader.parse($0)["method"] }
        #expect(methods == ["tools/list", "tools/call", "tools/list", "tools/call"])
    }

    @Test func aCallIsRefusedWhenTheServerCannotListItsTools() async throws {
        let h = try PipelineHarness(tools: nil)
        h.server.answer("tools/list") { _ in .error(code: -32000, message: "no") }
        await h.call("echo")

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.internalError)
        #expect(answer.text?.hasPrefix("Warden could not list the server's tools, so the call was not forwarded") == true)
        #expect(h.server.sent.count == 1)
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])
    }
}
