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
    }

    @Test func hostsAllowedByDefaultFollowTheListenAddress() {
        var listen = GatewayConfiguration.Listen()
        #expect(OriginPolicy(listen: listen).allowedHosts == ["127.0.0.1", "localhost", "::1"])
        listen.host = "0.0.0.0"
        #expect(OriginPolicy(listen: listen).allowedHosts.isEmpty)
        listen.allowedHosts = ["Warden.Example.com"]
        #expect(OriginPolicy(listen: listen).allowedHosts == ["warden.example.com"])
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
