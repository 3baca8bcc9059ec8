import HTTPTypes
import Logging
import Testing
import WardenMCP
import WardenPolicy
@testable import WardenGateway

@Suite struct HTTPHelperTests {
    @Test func bearerTokensAreTakenOnlyFromBearerHeaders() {
        #expect(Caller.bearerToken(in: "Bearer wdn_abc") == "wdn_abc")
        #expect(Caller.bearerToken(in: "bearer   wdn_abc ") == "wdn_abc")
        #expect(Caller.bearerToken(in: "Basic d2RuX2FiYw==") == nil)
        #expect(Caller.bearerToken(in: "Bearer") == nil)
        #expect(Caller.bearerToken(in: nil) == nil)
    }

    @Test func hostNamesLoseTheirPortBracketsAndCase() {
        #expect(OriginPolicy.hostName("LocalHost:8940") == "localhost")
        #expect(OriginPolicy.hostName("127.0.0.1") == "127.0.0.1")
        #expect(OriginPolicy.hostName("[::1]:8940") == "::1")
        #expect(OriginPolicy.hostName("evil.example:80") == "evil.example")
        #expect(OriginPolicy.hostName("ÉVIL.example") == "évil.example")
        #expect(OriginPolicy.hostName("") == "")
    }

    @Test func hostsAllowedByDefaultFollowTheListenAddress() {
        var listen = GatewayConfiguration.Listen()
        #expect(OriginPolicy(listen: listen).allowedHosts == ["127.0.0.1", "localhost", "::1"])
        listen.host = "0.0.0.0"
        #expect(OriginPolicy(listen: listen).allowedHosts.isEmpty)
        listen.allowedHosts = ["Warden.Example.com"]
        #expect(OriginPolicy(listen: listen).allowedHosts == ["warden.example.com"])
    }

    @Test func eventStreamsAreAcceptedInAnyLetterCaseAndOnlyWhenNamed() {
        func accepts(_ accept: String?) -> Bool {
            var headers = HTTPFields()
            if let accept { headers[.accept] = accept }
            return headers.acceptsEventStream
        }
        #expect(accepts("application/json, text/event-stream"))
        #expect(accepts("Text/Event-Stream;q=0.9"))
        #expect(accepts("text/event-stream"))
        #expect(!accepts("application/json"))
        #expect(!accepts("text/event-strea"))
        #expect(!accepts("text/event_stream"))
        #expect(!accepts(""))
        #expect(!accepts(nil))
    }

    @Test func aFieldIsReadAsTheJoiningGetterReadsIt() {
        var headers: HTTPFields = [.authorization: "Bearer wdn_a", .accept: "application/json"]
        headers.append(HTTPField(name: HTTPField.Name("mcp-session-id")!, value: "s1"))
        #expect(headers.value(.authorization) == "Bearer wdn_a")
        #expect(headers.value(.mcpSessionID) == "s1")  // names compare in any letter case
        #expect(headers.value(.origin) == nil)
        // Repeated: joined, as `headers[name]` joins them, so that a second token or session
        // id is never silently dropped.
        headers.append(HTTPField(name: .authorization, value: "Bearer wdn_b"))
        #expect(headers.value(.authorization) == "Bearer wdn_a, Bearer wdn_b")
        #expect(headers.value(.authorization) == headers[.authorization])
        // Which no grant's token is: the request is refused, not authenticated as the first.
        #expect(Caller.bearerToken(in: headers.value(.authorization)) == "wdn_a, Bearer wdn_b")
    }

    @Test func serverSentEventsFrameOneMessageEach() {
        let event = ServerSentEvents.event(data: Array(#"{"jsonrpc":"2.0","method":"x"}"#.utf8), type: "message", id: "7")
        #expect(String(decoding: event, as: UTF8.self) == "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n")
        #expect(String(decoding: ServerSentEvents.keepAlive, as: UTF8.self).hasPrefix(":"))
    }
}

@Suite struct OriginPolicyTests {
    @Test func originsAreRefusedUnlessListedAndHostsUnlessServed() throws {
        var listen = GatewayConfiguration.Listen()
        listen.allowedOrigins = ["https://app.example"]
        let policy = OriginPolicy(listen: listen)
        try policy.check(origin: nil, authority: "127.0.0.1:8940")
        try policy.check(origin: "https://app.example", authority: "localhost:8940")
        #expect(throws: MCPHTTPError.self) { try policy.check(origin: "https://evil.example", authority: "127.0.0.1:8940") }
        #expect(throws: MCPHTTPError.self) { try policy.check(origin: nil, authority: "evil.example:8940") }
        #expect(throws: MCPHTTPError.self) { try policy.check(origin: nil, authority: nil) }
    }

    @Test func theGatewaysOwnOriginIsAllowedOnlyForTheDashboardsForms() throws {
        let policy = OriginPolicy(listen: GatewayConfiguration.Listen())
        try policy.check(origin: "http://127.0.0.1:8940", authority: "127.0.0.1:8940", path: "/admin/login")
        try policy.check(origin: "http://LOCALHOST:8940", authority: "localhost:8940", path: "/admin/approvals/a_1/approve")
        #expect(throws: MCPHTTPError.self) { try policy.check(origin: "http://127.0.0.1:9999", authority: "127.0.0.1:8940", path: "/admin/login") }
        #expect(throws: MCPHTTPError.self) { try policy.check(origin: "http://127.0.0.1:8940", authority: nil, path: "/admin/login") }
        // A rebinding page on a gateway that accepts any Host still cannot reach MCP endpoints.
        var open = GatewayConfiguration.Listen()
        open.host = "0.0.0.0"
        #expect(throws: MCPHTTPError.self) {
            try OriginPolicy(listen: open).check(origin: "http://attacker.example", authority: "attacker.example", path: "/mcp/time")
        }
    }
}

@Suite struct DashboardTests {
    @Test func everyValueShownIsEscaped() {
        #expect(DashboardHTML.escape(#"<script>alert("x") & 'y'</script>"#) == "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;")
        #expect(DashboardHTML.badge("<b>").contains("&lt;b&gt;"))
    }

    @Test func toolSummariesNameTheEffectAndTheRule() throws {
        let policy = try PolicyLoader.load(
            yaml: """
                default: deny
                hide: [secret]
                tools:
                  read: {}
                  write: {limits: [{window: minute, max: 3}]}
                  wipe: {action: deny, reason: never}
                  pay: {action: require_approval}
                  send: {deny_if: [{conditions: [{path: args.to, op: eq, value: x}]}]}
                """, file: "p.yaml")
        let summaries = ["read", "write", "wipe", "pay", "send", "secret", "other"].map { ToolSummary(name: $0, policy: policy) }
        #expect(summaries.map(\.effect) == ["allow", "allow, limited", "deny", "approval", "allow, conditional", "hidden", "deny"])
        #expect(summaries.map(\.rule) == ["/tools/read", "/tools/write", "/tools/wipe/action", "/tools/pay/action", "/tools/send", "(hidden)", "(default deny)"])
    }
}

@Suite struct ClientStreamTests {
    func next(_ iterator: inout AsyncStream<ClientStream.Event>.AsyncIterator, count: Int) async -> [Int?] {
        var ids: [Int?] = []
        for _ in 0..<count { ids.append(await iterator.next()?.id) }
        return ids
    }

    @Test func aResumedStreamReplaysTheEventsAfterTheLastOneSeenThenTheBacklog() async throws {
        let stream = ClientStream(logger: Logger(label: "test"))
        stream.push(Array("early".utf8))  // waits for a stream: event 1
        var first = try #require(stream.open()).makeAsyncIterator()
        stream.push(Array("two".utf8))
        stream.push(Array("three".utf8))
        #expect(await next(&first, count: 3) == [1, 2, 3])
        #expect(stream.open() == nil, "one stream at a time")
        stream.close()
        stream.push(Array("four".utf8))  // waits for the next stream
        var resumed = try #require(stream.open(resumingAfter: 2)).makeAsyncIterator()
        #expect(await next(&resumed, count: 2) == [3, 4])
        stream.close()
        var fresh = try #require(stream.open()).makeAsyncIterator()
        stream.push(Array("five".utf8))
        #expect(await next(&fresh, count: 1) == [5], "without Last-Event-ID nothing is replayed")
    }

    @Test func onlyTheLatestEventsAreKeptForReplay() async throws {
        let stream = ClientStream(logger: Logger(label: "test"))
        var first = try #require(stream.open()).makeAsyncIterator()
        for _ in 0..<300 { stream.push(Array(repeating: UInt8(ascii: "x"), count: 10)) }
        #expect(await next(&first, count: 300).last == 300)
        stream.close()
        var resumed = try #require(stream.open(resumingAfter: 0)).makeAsyncIterator()
        stream.push([])  // event 301, to know where the replay ends
        var ids: [Int?] = []
        while let event = await resumed.next() {
            ids.append(event.id)
            if event.id == 301 { break }
        }
        #expect(ids.count == 257 && ids.first == 45, "the latest 256 events, then the new one")
    }
}
