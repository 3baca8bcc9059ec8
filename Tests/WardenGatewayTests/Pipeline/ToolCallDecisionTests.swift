import Foundation
import Testing
import WardenJSON
import WardenMCP
import WardenStore
import WardenTesting

@testable import WardenGateway

/// Each decision a `tools/call` can get, seen from both ends: what the server gets, what the
/// client gets back, and what is audited.
@Suite(.timeLimit(.minutes(1))) struct ToolCallDecisionTests {
    @Test func anAllowedCallGoesUnderWardensIdAndItsAnswerComesBackUnderTheClientsIdByteForByte() async throws {
        let h = try PipelineHarness()
        let clientID = #""c-\u0031""#
        let request = #"{"jsonrpc":"2.0", "id" : "c-\u0031","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#
        await h.send(request)

        let sent = try await h.server.waitForSent(2)
        #expect(try JSONReader.parse(sent[0])["method"] == "tools/list")  // Warden learns the tools first
        guard case .number(let wardenID)? = try JSONReader.parse(sent[1])["id"] else { throw HarnessError("no numeric id") }
        #expect(String(decoding: sent[1], as: UTF8.self) == request.replacingOccurrences(of: clientID, with: wardenID.text))

        let answer = #"{"result": {"content":[{"type":"text","text":"hi"}]} , "id": ID ,"jsonrpc":"2.0"}"#
        h.server.push(answer.replacingOccurrences(of: "ID", with: wardenID.text))
        let received = try await h.client.nextMessage()
        #expect(String(decoding: received, as: UTF8.self) == answer.replacingOccurrences(of: "ID", with: clientID))

        let record = try #require(try await h.auditRecords().last)
        #expect(record.decision == "allow")
        #expect(record.tool == "echo")
        #expect(record.upstreamStatus == "ok")
        #expect(record.argumentKeys == ["text"])
    }

    @Test func aDeniedCallIsAnsweredWithThePolicyDenialAndNeverForwarded() async throws {
        let h = try PipelineHarness()
        await h.call("delete", id: "2")

        let answer = try await h.answer()
        #expect(answer["id"] == 2)
        #expect(answer["result"]?["isError"] == true)
        #expect(answer.text == "[POLICY DENIED] nothing is deleted here (rule /tools/delete/action)")
        #expect(answer["result"]?["_meta"]?["warden/decision"]?["decision"] == "deny")
        #expect(h.server.sent.count == 1)  // only Warden's own tools/list
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])
    }

    @Test func aHiddenToolIsAnUnknownTool() async throws {
        let h = try PipelineHarness()
        await h.call("secret")

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.invalidParams)
        #expect(answer.text == "Unknown tool: secret")
        #expect(h.server.sent.count == 1)
        #expect(try await h.auditRecords().map(\.decision) == ["hidden"])
    }

    @Test func aToolTheServerNeverAdvertisedIsRefusedAsUnknown() async throws {
        let h = try PipelineHarness()
        await h.call("nonexistent")

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.invalidParams)
        #expect(answer.text == "Unknown tool: nonexistent")
        #expect(h.server.sent.count == 1)
        #expect(try await h.auditRecords().map(\.decision) == ["unknown_tool"])
    }

    @Test(arguments: [
        (#"{"arguments":{}}"#, "Invalid params: tools/call needs params.name, a string"),
        (#"{"name":7}"#, "Invalid params: tools/call needs params.name, a string"),
        (#"{"name":"echo","arguments":[1]}"#, "Invalid params: params.arguments must be an object"),
    ])
    func invalidParamsAreRefusedBeforeAnythingElse(params: String, message: String) async throws {
        let h = try PipelineHarness()
        await h.send(#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":\#(params)}"#)

        let answer = try await h.answer()
        #expect(answer["id"] == 3)
        #expect(answer.errorCode == JSONRPCError.invalidParams)
        #expect(answer.text == message)
        #expect(h.server.sent.isEmpty)
        #expect(try await h.auditRecords().map(\.decision) == ["invalid"])
    }

    @Test func aCallInShadowModeIsForwardedAndItsWouldBeDenialAudited() async throws {
        let h = try PipelineHarness()
        await h.call("tried", arguments: #"{"rows":100}"#)

        let call = try await h.forwarded()
        #expect(call["params"]?["name"] == "tried")
        h.reply(to: call["id"])
        #expect(try await h.answer()["result"]?["isError"] == nil)
        let record = try #require(try await h.auditRecords().last)
        #expect(record.decision == "shadow_deny")
        #expect(record.message == "at most 10 rows")
        #expect(record.upstreamStatus == "ok")
    }

    @Test func theCallPastALimitIsRefusedAndTheOnesBeforeItForwarded() async throws {
        let h = try PipelineHarness()
        for id in 1...3 { await h.call("limited", id: "\(id)") }

        let refused = try await h.answer()
        #expect(refused["id"] == 3)
        #expect(refused["result"]?["isError"] == true)
        #expect(refused["result"]?["_meta"]?["warden/decision"]?["rule"] == "/tools/limited/limits/0")
        let calls = h.server.sent.dropFirst()  // after Warden's tools/list
        #expect(calls.count == 2)
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])  // the two forwarded are audited when answered
    }

    @Test func argumentsOutsideTheToolsSchemaAreRefused() async throws {
        let h = try PipelineHarness()
        await h.call("typed", id: "1", arguments: #"{"count":11}"#)
        await h.call("typed", id: "2", arguments: #"{}"#)
        await h.call("typed", id: "3", arguments: #"{"count":10}"#)

        let tooMany = try await h.answer()
        #expect(tooMany["result"]?["_meta"]?["warden/decision"]?["rule"] == "/tools/typed/args/properties/count/maximum")
        let missing = try await h.answer()
        #expect(missing["id"] == 2)
        #expect(missing["result"]?["isError"] == true)
        #expect(try await h.forwarded()["params"]?["arguments"]?["count"] == 10)
    }

    @Test func validateInputEnforcesTheSchemaTheServerAdvertised() async throws {
        let h = try PipelineHarness()
        await h.call("validated", id: "1", arguments: #"{"n":"three"}"#)
        await h.call("validated", id: "2", arguments: #"{"n":3}"#)

        let refused = try await h.answer()
        #expect(refused["id"] == 1)
        #expect(refused["result"]?["_meta"]?["warden/decision"]?["rule"] == "/tools/validated/validate_input")
        #expect(try await h.forwarded()["params"]?["arguments"]?["n"] == 3)
    }

    @Test func aCallNeedingApprovalIsRefusedWhenNobodyCanApprove() async throws {
        let h = try PipelineHarness(approvals: false)
        await h.call("refund")

        let answer = try await h.answer()
        #expect(answer["result"]?["isError"] == true)
        #expect(answer.text?.contains("no approver is available to this gateway") == true)
        #expect(h.server.sent.count == 1)
        #expect(try await h.auditRecords().map(\.decision) == ["deny"])
    }

    @Test func aToolsCallWithoutAnIdGoesNowhere() async throws {
        let h = try PipelineHarness()
        await h.send(#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}"#)
        await h.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)

        // The notification after it is forwarded; the call before it was not.
        #expect(try await h.forwarded()["method"] == "notifications/initialized")
        #expect(h.server.sent.count == 1)
    }

    @Test func aMessageThatIsNotJSONIsAParseErrorWithoutAnId() async throws {
        let h = try PipelineHarness()
        await h.send(#"{"jsonrpc":"2.0","id":1,"method":"#)

        let answer = try await h.answer()
        #expect(answer.errorCode == JSONRPCError.parseError)
        #expect(answer["id"] == .null)
        #expect(h.server.sent.isEmpty)
    }
}
