import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import WardenJSON
import WardenStore

@testable import WardenGateway

/// The HTTP gateway in process: its router (authentication, the MCP endpoints, the admin API)
/// over a real SQLite store in a temporary folder, in front of the e2e suite's echo server.
@Suite struct HTTPGatewayTests {
    /// A gateway serving `echo` and `other` (both the fixture echo server, every call allowed).
    struct Fixture {
        let harness: UpstreamHarness
        var gateway: HTTPGateway { harness.gateway }
        var store: SQLiteStore { harness.store }

        init(limits: String = "") async throws {
            // Any Host: the in-process client sends none.
            harness = try await UpstreamHarness(
                """
                listen: {host: 0.0.0.0, port: 0}
                \(limits)
                servers:
                  echo: {command: [python3, "\(UpstreamHarness.echoServer)"], policy: policy.yaml}
                  other: {command: [python3, "\(UpstreamHarness.echoServer)"], policy: policy.yaml}
                """)
        }

        /// A grant token reaching `servers`.
        func grant(_ servers: [String] = ["echo"]) async throws -> (id: String, token: String) {
            let issued = try await store.grants.create(label: "agent", servers: servers, policy: gateway.configuration.servers[0].policyPath)
            return (issued.grant.id, issued.token)
        }

        func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
            try await Application(router: gateway.makeRouter(), logger: gateway.logger).test(.router, body)
        }
    }

    static let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#

    static func call(_ tool: String, id: Int = 2) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{"text":"hi"}}}"#
    }

    static func post(
        _ client: any TestClientProtocol, _ path: String, _ body: String, token: String?, session: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        headers[.accept] = headers[.accept] ?? "application/json, text/event-stream"
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let session { headers[.mcpSessionID] = session }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONReader.parse(Array(response.body.readableBytesView))
    }

    // MARK: - Authentication

    @Test func aRequestWithoutATokenIsRefusedWithTheBearerChallenge() async throws {
        let fixture = try await Fixture()
        try await fixture.test { client in
            let response = try await Self.post(client, "/mcp/echo", Self.initialize, token: nil)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="warden""#)
            let body = try Self.json(response)
            #expect(body["error"]?["code"] == -32600)
            #expect(body["error"]?["message"]?.stringValue?.hasPrefix("Unauthorized: send a Warden grant token") == true)
            // Operators' routes are not behind grant tokens.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test func aMistypedOrRevokedGrantIsAnInvalidToken() async throws {
        let fixture = try await Fixture()
        let (id, token) = try await fixture.grant()
        try await fixture.test { client in
            #expect(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).status == .ok)
            try await fixture.store.grants.revoke(id: id)
            for refused in [token, "wdn_mistyped"] {
                let response = try await Self.post(client, "/mcp/echo", Self.initialize, token: refused)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="warden", error="invalid_token""#)
                #expect(try Self.json(response)["error"]?["message"]?.stringValue?.contains("not a valid grant") == true)
            }
        }
    }

    @Test func aGrantReachesOnlyItsServersAndAdminTokensAreNoGrants() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await fixture.grant(["echo"])
        let (_, admin) = try await fixture.store.adminTokens.create(name: "ops", role: .admin)
        try await fixture.test { client in
            #expect(try await Self.post(client, "/mcp/other", Self.initialize, token: token).status == .forbidden)
            #expect(try await Self.post(client, "/mcp/nowhere", Self.initialize, token: token).status == .notFound)
            #expect(try await Self.post(client, "/mcp/echo", Self.initialize, token: admin).status == .unauthorized)
            // …and a grant token is no admin token.
            let listing = try await client.execute(uri: "/admin/api/grants", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(listing.status == .unauthorized)
            #expect(listing.headers[.wwwAuthenticate] == #"Bearer realm="warden-admin""#)
        }
    }

    // MARK: - Admin API

    @Test func theAdminAPIGrantsByRoleAndARevokedGrantStopsAtOnce() async throws {
        let fixture = try await Fixture()
        let (_, viewer) = try await fixture.store.adminTokens.create(name: "watcher", role: .viewer)
        let (_, admin) = try await fixture.store.adminTokens.create(name: "ops", role: .admin)
        let policy = try #require(fixture.gateway.configuration.servers.first?.policyPath)
        let grant = #"{"label":"bot","servers":["echo"],"policy":"\#(policy)"}"#
        try await fixture.test { client in
            let refused = try await client.execute(
                uri: "/admin/api/grants", method: .post, headers: [.authorization: "Bearer \(viewer)"], body: ByteBuffer(string: grant))
            #expect(refused.status == .forbidden)
            let created = try await client.execute(
                uri: "/admin/api/grants", method: .post, headers: [.authorization: "Bearer \(admin)"], body: ByteBuffer(string: grant))
            #expect(created.status == .created)
            let body = try Self.json(created)
            let token = try #require(body["token"]?.stringValue)
            let id = try #require(body["id"]?.stringValue)
            let listed = try await client.execute(uri: "/admin/api/grants", method: .get, headers: [.authorization: "Bearer \(viewer)"])
            #expect(try Self.json(listed)["grants"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
            #expect(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).status == .ok)
            let revoked = try await client.execute(
                uri: "/admin/api/grants/\(id)/revoke", method: .post, headers: [.authorization: "Bearer \(admin)"])
            #expect(revoked.status == .ok)
            #expect(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).status == .unauthorized)
        }
    }

    // MARK: - Sessions

    @Test func aSessionIsOpenedCalledAndEnded() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await fixture.grant()
        try await fixture.test { client in
            let opened = try await Self.post(client, "/mcp/echo", Self.initialize, token: token)
            let session = try #require(opened.headers[.mcpSessionID])
            #expect(try Self.json(opened)["result"]?["serverInfo"]?["name"] == "echo")
            let missing = try await Self.post(client, "/mcp/echo", Self.call("echo"), token: token)
            #expect(missing.status == .badRequest)
            let answer = try await Self.post(client, "/mcp/echo", Self.call("echo"), token: token, session: session)
            #expect(answer.status == .ok)
            #expect(try Self.json(answer)["id"] == 2)
            #expect(try Self.json(answer)["result"] != nil)
            let notification = #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
            #expect(try await Self.post(client, "/mcp/echo", notification, token: token, session: session).status == .accepted)
            // Another server's endpoint does not know this session.
            let (_, both) = try await fixture.grant(["echo", "other"])
            #expect(try await Self.post(client, "/mcp/other", Self.call("echo"), token: both, session: session).status == .notFound)
            let ended = try await client.execute(
                uri: "/mcp/echo", method: .delete, headers: [.authorization: "Bearer \(token)", .mcpSessionID: session])
            #expect(ended.status == .ok)
            #expect(try await Self.post(client, "/mcp/echo", Self.call("echo"), token: token, session: session).status == .notFound)
        }
    }

    /// A body may break lines between tokens; a stdio server reads lines, so a second message
    /// hidden on a line of its own would run unpoliced. Every line break reaches it as a space.
    @Test func aBodyWithLineBreaksReachesTheServerAsOneMessage() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await fixture.grant()
        try await fixture.test { client in
            let opened = try await Self.post(client, "/mcp/echo", Self.initialize, token: token)
            let session = try #require(opened.headers[.mcpSessionID])
            let smuggled = #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crash","arguments":{}}}"#
            let body = "{\"jsonrpc\":\"2.0\",\r\n \"id\": 2, \"method\": \"tools/call\",\n \"params\": {\"name\": \"echo\", \"arguments\": {}, \"x\":\r"
                + smuggled + "\n}}"
            let answer = try Self.json(try await Self.post(client, "/mcp/echo", body, token: token, session: session))
            #expect(answer["id"] == 2)
            // The echo server answers with the line it read: the whole call, on one line.
            let line = try #require(answer["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue)
            #expect(!line.contains("\n") && !line.contains("\r"))
            #expect(line.contains(smuggled))
            #expect(try JSONReader.parse(Array(line.utf8))["params"]?["name"] == "echo")
        }
    }

    @Test func concurrentPostsOnOneSessionEachGetTheirOwnAnswer() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await fixture.grant()
        try await fixture.test { client in
            let opened = try await Self.post(client, "/mcp/echo", Self.initialize, token: token)
            let session = try #require(opened.headers[.mcpSessionID])
            let slow = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow","arguments":{"seconds":0.3}}}"#
            let batch = "[\(Self.call("echo", id: 8)),\(Self.call("echo", id: 9))]"
            async let first = Self.post(client, "/mcp/echo", slow, token: token, session: session)
            async let second = Self.post(client, "/mcp/echo", batch, token: token, session: session)
            let (held, both) = try await (first, second)

            // Each POST is answered with the answers to its own requests, whatever came back first.
            let answer = try Self.json(held)
            #expect(answer["id"] == 7)
            #expect(answer.text?.contains(#""name":"slow""#) == true)
            guard case .array(let answers)? = try? Self.json(both) else {
                Issue.record("the batch's POST was not answered with a batch")
                return
            }
            #expect(answers.map { $0["id"] } == [8, 9])
            #expect(answers.allSatisfy { $0.text?.contains(#""name":"echo""#) == true })
        }
    }

    @Test func theAggregatedEndpointPrefixesToolsAndRoutesCalls() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await fixture.grant(["echo", "other"])
        try await fixture.test { client in
            let opened = try await Self.post(client, "/mcp", Self.initialize, token: token)
            let session = try #require(opened.headers[.mcpSessionID])
            let list = #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#
            let tools = try Self.json(try await Self.post(client, "/mcp", list, token: token, session: session))
            let names = tools["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names.contains("echo__echo") && names.contains("other__route"))
            let answer = try Self.json(try await Self.post(client, "/mcp", Self.call("other__echo", id: 3), token: token, session: session))
            #expect(answer["result"] != nil)
            let unknown = try Self.json(try await Self.post(client, "/mcp", Self.call("nobody__echo", id: 4), token: token, session: session))
            #expect(unknown["error"]?["message"] == "Unknown tool: nobody__echo")
        }
    }

    @Test func aCallerMayHoldOnlySoManySessions() async throws {
        let fixture = try await Fixture(limits: "limits: {max_sessions_per_grant: 2}")
        let (_, token) = try await fixture.grant(["echo", "other"])
        try await fixture.test { client in
            let first = try #require(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).headers[.mcpSessionID])
            #expect(try await Self.post(client, "/mcp", Self.initialize, token: token).status == .ok)
            let refused = try await Self.post(client, "/mcp/echo", Self.initialize, token: token)
            #expect(refused.status == .tooManyRequests)
            #expect(try Self.json(refused)["error"]?["code"] == -32000)
            _ = try await client.execute(uri: "/mcp/echo", method: .delete, headers: [.authorization: "Bearer \(token)", .mcpSessionID: first])
            #expect(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).status == .ok)
        }
    }

    @Test func idleSessionsAreEndedAndTheirCountsFreed() async throws {
        let fixture = try await Fixture(limits: "limits: {max_sessions_per_grant: 1}")
        let (_, token) = try await fixture.grant()
        try await fixture.test { client in
            let session = try #require(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).headers[.mcpSessionID])
            await fixture.gateway.registry.endSessions(idleFor: .seconds(60))
            #expect(try await Self.post(client, "/mcp/echo", Self.call("echo"), token: token, session: session).status == .ok)
            try await Task.sleep(for: .milliseconds(20))
            await fixture.gateway.registry.endSessions(idleFor: .milliseconds(10))
            #expect(try await Self.post(client, "/mcp/echo", Self.call("echo"), token: token, session: session).status == .notFound)
            #expect(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).status == .ok)
        }
    }

    @Test func aDrainingGatewayRefusesNewWork() async throws {
        let fixture = try await Fixture(limits: "limits: {shutdown_timeout: 4s}")
        let (_, token) = try await fixture.grant()
        try await fixture.test { client in
            let session = try #require(try await Self.post(client, "/mcp/echo", Self.initialize, token: token).headers[.mcpSessionID])
            await fixture.gateway.registry.drain()
            let refused = try await Self.post(client, "/mcp/echo", Self.call("echo"), token: token, session: session)
            #expect(refused.status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
        }
    }

    // MARK: - Stateless requests

    @Test func aStatelessRequestIsServedWithoutASession() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await fixture.grant()
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        let headers: HTTPFields = [.mcpProtocolVersion: "2026-07-28", .mcpMethod: "tools/call", .mcpName: "echo"]
        try await fixture.test { client in
            let call = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{},\#(meta)}}"#
            let answer = try await Self.post(client, "/mcp/echo", call, token: token, headers: headers)
            #expect(answer.status == .ok)
            #expect(answer.headers[.mcpSessionID] == nil)
            #expect(try Self.json(answer)["id"] == 7)
            #expect(try Self.json(answer)["result"] != nil)
            var mismatched = headers
            mismatched[.mcpName] = "route"
            let refused = try await Self.post(client, "/mcp/echo", call, token: token, headers: mismatched)
            #expect(refused.status == .badRequest)
            #expect(try Self.json(refused)["error"]?["code"] == -32020)
        }
    }
}
