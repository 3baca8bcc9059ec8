import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import WardenJSON
import WardenMCP
import WardenStore

@testable import WardenGateway

/// A remote server over Streamable HTTP (`url:`): the outer gateway, driven through its
/// router, polices calls to a second gateway served live on 127.0.0.1 in front of the echo
/// server. Each call the inner gateway sees is in its own audit log.
@Suite(.timeLimit(.minutes(1))) struct RemoteUpstreamTests {
    static let denyFail = "version: \"1\"\ndefault: allow\ntools:\n  fail: {action: deny, reason: no failing here}\n"

    @Test func anAllowedCallReachesTheRemoteServerAndItsAnswerComesBackUnderTheClientsID() async throws {
        try await RemotePair.run { pair, client in
            var session = MCPClient(client: client, path: "/mcp/remote", token: pair.token)
            let opened = try await session.open()
            #expect(opened["id"] == 1)
            #expect(opened["result"]?["serverInfo"]?["name"] == "echo", "the remote server's own initialize result")

            let answer = try await session.call("echo", id: #""c-1""#, arguments: #"{"text":"hi"}"#)
            #expect(answer["id"] == "c-1")
            let echoed = try #require(answer.echoed, "\(answer)")
            #expect(echoed["params"]?["name"] == "echo")
            #expect(echoed["params"]?["arguments"] == ["text": "hi"])
            #expect(echoed["id"] != "c-1", "the server got the call under a gateway's own id")

            #expect(try await RemotePair.calls(pair.outer) == [["echo", "allow", "ok"]])
            #expect(try await RemotePair.calls(pair.inner) == [["echo", "allow", "ok"]], "the call went through the remote gateway")
        }
    }

    /// Over Streamable HTTP, and over the legacy HTTP+SSE transport.
    @Test(arguments: [false, true])
    func aDeniedCallNeverReachesTheRemoteServerAndIsAuditedAsDenied(legacySSE: Bool) async throws {
        try await RemotePair.run(legacySSE: legacySSE, policy: Self.denyFail) { pair, client in
            var session = MCPClient(client: client, path: "/mcp/remote", token: pair.token)
            _ = try await session.open()

            let refusal = try await session.call("fail", id: "2")
            #expect(refusal["id"] == 2)
            #expect(refusal["result"]?["isError"] == true)
            #expect(refusal.text == "[POLICY DENIED] no failing here (rule /tools/fail/action)")
            // The server is reached for what the policy allows.
            #expect(try await session.call("echo", id: "3").echoed != nil)

            #expect(try await RemotePair.calls(pair.outer) == [["fail", "deny", nil], ["echo", "allow", "ok"]])
            #expect(try await RemotePair.calls(pair.inner) == [["echo", "allow", "ok"]], "only the allowed call reached the remote server")
        }
    }

    @Test func aDeadRemoteServerIsAnsweredWithAnErrorNotAHang() async throws {
        let (harness, token) = try await UpstreamHarness.inFrontOfADeadServer(path: "/mcp/echo")
        try await harness.test { client in
            let session = MCPClient(client: client, path: "/mcp/remote", token: token)
            let started = ContinuousClock.now
            let response = try await session.post(MCPClient.initialize)
            #expect(response.status == .ok)
            #expect(response.headers[.mcpSessionID] != nil)
            let answer = try HTTPGatewayTests.json(response)
            #expect(answer["id"] == 1)
            #expect(answer.errorCode == JSONRPCError.internalError)
            // The connection is retried until the upstream timeout, then the request fails
            // ("could not be reached"), unless the session's sweep (each second) gives up on it
            // first ("did not answer in time"): either way an error, in seconds.
            let message = answer.text ?? ""
            #expect(message == "The server remote could not be reached" || message == "The server remote did not answer in time", "\(message)")

            // A call in the session is answered with an error too (the server's tools cannot be listed).
            var opened = session
            opened.session = response.headers[.mcpSessionID]
            let call = try await opened.call("echo", id: "2")
            #expect(call["id"] == 2)
            #expect(ContinuousClock.now - started < .seconds(15), "two requests, each bounded by the 1 s upstream timeout")
            #expect(call.errorCode == JSONRPCError.internalError)
        }
    }

    @Test func aCallTheRemoteServerRefusesGivesItsLimitCountBack() async throws {
        // One echo an hour; the remote gateway takes no message over 1024 bytes.
        let policy = """
            version: "1"
            default: allow
            tools:
              echo:
                limits:
                  - {counter: echoes, window: hour, max: 1, scope: identity}
            """
        try await RemotePair.run(policy: policy, innerLimits: "limits: {max_body_bytes: 1024}") { pair, client in
            var session = MCPClient(client: client, path: "/mcp/remote", token: pair.token)
            _ = try await session.open()

            let big = String(repeating: "x", count: 2000)
            let failed = try await session.call("echo", id: "2", arguments: #"{"text":"\#(big)"}"#)
            #expect(failed["id"] == 2)
            #expect(failed.errorCode == JSONRPCError.internalError)
            #expect(failed.text == "The server remote answered HTTP 413", "\(failed)")

            // The failed call's count was given back: the hour's one echo is still free…
            let answered = try await session.call("echo", id: "3", arguments: #"{"text":"small"}"#)
            #expect(answered.echoed?["params"]?["arguments"] == ["text": "small"], "\(answered)")
            // …and then taken.
            let limited = try await session.call("echo", id: "4")
            #expect(limited["result"]?["isError"] == true)
            #expect(limited.text?.hasPrefix("[POLICY DENIED]") == true, "\(limited)")

            #expect(try await RemotePair.calls(pair.outer) == [["echo", "allow", "error -32603"], ["echo", "allow", "ok"], ["echo", "deny", nil]])
            #expect(try await RemotePair.calls(pair.inner) == [["echo", "allow", "ok"]])
        }
    }
}
