import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import WardenJSON
import WardenMCP
import WardenStore

@testable import WardenGateway

/// A remote server on the legacy HTTP+SSE transport (`transport: sse`): the outer gateway,
/// driven through its router over Streamable HTTP, reaches a second gateway's `/sse/echo`,
/// served live on 127.0.0.1 in front of the echo server; every answer comes back on that
/// event stream.
@Suite(.timeLimit(.minutes(1))) struct LegacySSEUpstreamTests {
    /// Every tool of the echo server, in its order.
    static let echoTools = [
        "echo", "crash", "weird", "noise", "ask", "grow", "slow", "fail", "rpcerror", "notify", "big", "kill", "orphan", "route",
    ]

    @Test func initializeToolsListAndToolsCallWorkEndToEnd() async throws {
        try await RemotePair.run(legacySSE: true) { pair, client in
            var session = MCPClient(client: client, path: "/mcp/remote", token: pair.token)
            let initialized = try await session.open()
            #expect(initialized["id"] == 1)
            #expect(initialized["result"]?["serverInfo"]?["name"] == "echo", "the remote server's own initialize result")

            #expect(try await session.listTools() == Self.echoTools, "every page, in order")

            let answer = try await session.call("echo", id: #""c-1""#, arguments: #"{"text":"over sse"}"#)
            #expect(answer["id"] == "c-1")
            #expect(answer.echoed?["params"]?["arguments"] == ["text": "over sse"], "\(answer)")
            // Requests in flight together each get their own answer on the one stream.
            let opened = session
            async let first = opened.call("slow", id: "7", arguments: #"{"seconds":0.2,"n":7}"#)
            async let second = opened.call("echo", id: "8", arguments: #"{"n":8}"#)
            let (seventh, eighth) = try await (first, second)
            #expect(seventh["id"] == 7 && seventh.echoed?["params"]?["arguments"]?["n"] == 7)
            #expect(eighth["id"] == 8 && eighth.echoed?["params"]?["arguments"] == ["n": 8])

            let outer = try await RemotePair.calls(pair.outer)
            let inner = try await RemotePair.calls(pair.inner)
            #expect(outer.compactMap { $0[0] }.sorted() == ["echo", "echo", "slow"])
            #expect(outer.allSatisfy { $0[1] == "allow" && $0[2] == "ok" })
            #expect(inner.compactMap { $0[0] }.sorted() == ["echo", "echo", "slow"], "every call went through the remote gateway")
            #expect(inner.allSatisfy { $0[1] == "allow" && $0[2] == "ok" })
        }
    }

    @Test func aDeadLegacyServerIsAnsweredWithAnErrorNotAHang() async throws {
        let (harness, token) = try await UpstreamHarness.inFrontOfADeadServer(path: "/sse/echo", legacySSE: true)
        try await harness.test { client in
            let started = ContinuousClock.now
            let answer = try await MCPClient(client: client, path: "/mcp/remote", token: token).request(MCPClient.initialize)
            #expect(answer["id"] == 1)
            #expect(answer.errorCode == JSONRPCError.internalError)
            // The event stream never opens, so the endpoint to post to is never known: the
            // request waits for it until the upstream timeout.
            #expect(answer.text == "The server remote did not answer in time", "\(answer)")
            #expect(ContinuousClock.now - started < .seconds(10), "bounded by the 1 s upstream timeout")
        }
    }
}
