import Foundation
import Testing
import WardenGateway
import WardenJSON
import WardenPolicy
import WardenStore

@Suite struct GatewayConfigurationTests {
    /// Writes `config` (and a valid policy beside it) into a fresh folder; returns the config's path.
    func write(_ config: String, policy: String = "tools:\n  get_time: {}\n") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appending(path: "policies"), withIntermediateDirectories: true)
        try policy.write(to: folder.appending(path: "policies/p.yaml"), atomically: true, encoding: .utf8)
        let path = folder.appending(path: "warden.yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func load(_ path: String, environment: [String: String] = [:]) throws(PolicyLoadError) -> GatewayConfiguration {
        try GatewayConfiguration.load(Array(FileManager.default.contents(atPath: path)!), file: path, environment: environment)
    }

    func problems(_ path: String, environment: [String: String] = [:]) -> [PolicyProblem] {
        do {
            _ = try load(path, environment: environment)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func theExampleLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "examples/warden.yaml").path
        let configuration = try load(path)
        #expect(configuration.listen.port == 8940)
        #expect(configuration.servers.map(\.name) == ["time"])
        #expect(configuration.servers[0].upstream == .stdio(command: ["mcp-server-time"], environment: [:], shared: false))
        #expect(configuration.servers[0].policy.toolNames == ["get_current_time", "convert_time"])
        #expect(configuration.limits.upstreamTimeoutSeconds == 60)
    }

    @Test func defaultsAndEveryField() throws {
        let path = try write(
            """
            servers:
              local:
                command: [uvx, mcp-server-time]
                env: {TZ: UTC}
                shared: true
                policy: policies/p.yaml
              remote:
                url: https://example.com/mcp
                headers: {Authorization: "Bearer ${TOKEN}"}
                policy: policies/p.yaml
              old:
                url: http://127.0.0.1:9000/sse
                transport: sse
                policy: policies/p.yaml
            """)
        let configuration = try load(path, environment: ["TOKEN": "s3cret"])
        #expect(configuration.listen == GatewayConfiguration.Listen())
        #expect(configuration.listen.host == "127.0.0.1")
        #expect(configuration.aggregationSeparator == "__")
        #expect(configuration.servers.map(\.upstream) == [
            .stdio(command: ["uvx", "mcp-server-time"], environment: ["TZ": "UTC"], shared: true),
            .streamableHTTP(url: "https://example.com/mcp", headers: ["Authorization": "Bearer s3cret"]),
            .sse(url: "http://127.0.0.1:9000/sse", headers: [:]),
        ])
        #expect(configuration.servers[0].policyPath.hasSuffix("/policies/p.yaml"))
    }

    @Test func jwtIdentities() throws {
        let path = try write(
            """
            auth:
              jwt:
                jwks_file: keys/jwks.json
                issuer: https://idp.example
                audience: warden
                identity_claim: email
                label_claims: {team: team}
                servers: [local]
                policy: policies/p.yaml
                jwks_refetch_interval: 5s
            servers:
              local: {command: [mcp-server-time], policy: policies/p.yaml}
            """)
        let jwt = try #require(try load(path).jwt)
        #expect(jwt.refetchIntervalSeconds == 5)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        #expect(jwt.keys == .file(folder + "/keys/jwks.json"))
        #expect(jwt.issuer == "https://idp.example" && jwt.audience == "warden" && jwt.identityClaim == "email")
        #expect(jwt.labelClaims == ["team": "team"] && jwt.servers == ["local"])
        #expect(jwt.policyPath == folder + "/policies/p.yaml")

        let broken = try write(
            """
            auth:
              jwt: {jwks_file: a.json, jwks_url: "ftp://x", servers: [elsewhere], claims: {}}
            servers:
              local: {command: [mcp-server-time], policy: policies/p.yaml}
            """)
        let messages = problems(broken).map(\.message)
        #expect(messages.contains { $0.contains("unknown key \"claims\"") || $0.contains("claims") })
        #expect(messages.contains { $0.contains("exactly one of \"jwks_file\" and \"jwks_url\"") })
        #expect(messages.contains { $0.contains("no server is named elsewhere") })
    }

    @Test func serverNamesMustNotContainTheAggregationSeparator() throws {
        let path = try write(
            """
            servers:
              git__old: {command: [mcp-server-git], policy: policies/p.yaml}
            """)
        #expect(problems(path).map(\.message).contains { $0.contains("contains the aggregation separator \"__\"") })
        let renamed = try write(
            """
            aggregation: {separator: "."}
            servers:
              git__old: {command: [mcp-server-git], policy: policies/p.yaml}
            """)
        #expect(problems(renamed).isEmpty)
    }

    @Test func serverNamesWhoseAggregatedNamesCouldBeReadTwoWaysAreRefused() throws {
        let path = try write(
            """
            servers:
              files: {command: [a], policy: policies/p.yaml}
              files_: {command: [b], policy: policies/p.yaml}
              files_x: {command: [c], policy: policies/p.yaml}
              files__: {command: [d], policy: policies/p.yaml}
            """)
        let messages = problems(path).map(\.message)
        // files__ contains the separator; files/files_ and files/files__ and files_/files__ collide.
        #expect(messages.contains { $0.contains("the server names files and files_ collide") && $0.contains("files___read_file") })
        #expect(messages.contains { $0.contains("the server names files and files__ collide") })
        #expect(messages.contains { $0.contains("the server names files_ and files__ collide") })
        #expect(!messages.contains { $0.contains("files_x collide") || $0.contains("names files_x and") })
        #expect(
            GatewayConfiguration.ambiguousServerNames(["a", "a_", "ab", "a-", "b_"], separator: "__").map { "\($0.0)/\($0.1)" } == ["a/a_"])
        #expect(GatewayConfiguration.ambiguousServerNames(["a", "a.b"], separator: ".").map { "\($0.0)/\($0.1)" } == ["a/a.b"])
        #expect(GatewayConfiguration.ambiguousServerNames(["a", "ab"], separator: "b").map { "\($0.0)/\($0.1)" } == ["a/ab"])
    }

    @Test func connectionSessionAndShutdownLimits() throws {
        let defaults = try load(try write("servers:\n  t: {command: [t], policy: policies/p.yaml}\n"))
        #expect(defaults.listen.headerTimeoutSeconds == 10 && defaults.listen.bodyTimeoutSeconds == 30)
        #expect(defaults.listen.idleTimeoutSeconds == 60 && defaults.listen.maxConnections == 1024)
        #expect(defaults.limits.maxSessionsPerGrant == 32 && defaults.limits.shutdownTimeoutSeconds == 10)
        #expect(defaults.limits.upstreamConnectionsPerHost == 128 && defaults.limits.upstreamStreamsPerHost == 1024)
        let path = try write(
            """
            listen: {header_timeout: 2s, body_timeout: 1m, idle_timeout: 5, max_connections: 50}
            limits: {max_sessions_per_grant: 4, shutdown_timeout: 3s, upstream_connections_per_host: 16, upstream_streams_per_host: 300}
            servers:
              t: {command: [t], policy: policies/p.yaml}
            """)
        let configuration = try load(path)
        #expect(configuration.listen.headerTimeoutSeconds == 2 && configuration.listen.bodyTimeoutSeconds == 60)
        #expect(configuration.listen.idleTimeoutSeconds == 5 && configuration.listen.maxConnections == 50)
        #expect(configuration.limits.maxSessionsPerGrant == 4 && configuration.limits.shutdownTimeoutSeconds == 3)
        #expect(configuration.limits.upstreamConnectionsPerHost == 16 && configuration.limits.upstreamStreamsPerHost == 300)
        let broken = try write(
            """
            listen: {max_connections: 0, header_timeout: soon}
            limits: {max_sessions_per_grant: -1}
            servers:
              t: {command: [t], policy: policies/p.yaml}
            """)
        #expect(problems(broken).count == 3)
    }

    @Test func pathsAreRelativeToTheFileAndPortZeroPicksAFreePort() throws {
        let path = try write(
            """
            listen: {port: 0}
            store: {sqlite: state/warden.db}
            limits: {session_idle_timeout: 10m}
            servers:
              local: {command: [mcp-server-time], policy: policies/p.yaml}
            """)
        let configuration = try load(path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        #expect(configuration.listen.port == 0)
        #expect(configuration.limits.sessionIdleTimeoutSeconds == 600)
        #expect(configuration.store == .sqlite(path: folder + "/state/warden.db"))
        #expect(configuration.servers[0].policyPath == folder + "/policies/p.yaml")
    }

    @Test func theStoreIsSQLiteByDefaultAndUnknownBackendsAreRefused() throws {
        let servers = "servers:\n  local: {command: [x], policy: policies/p.yaml}\n"
        #expect(try load(try write(servers)).store == nil)
        let unknown = problems(try write("store: {postgresql: x}\n" + servers)).map(\.description)
        #expect(unknown.count == 1)
        #expect(unknown.first?.contains("unknown key \"postgresql\"") == true, "\(unknown)")
    }

    @Test func everyProblemIsReportedWithItsPlace() throws {
        let path = try write(
            """
            listen: {port: 70000, hots: [x]}
            limits: {upstream_timeout: soon}
            servers:
              "bad name": {command: [x], policy: policies/p.yaml}
              both: {command: [x], url: "https://x", policy: policies/p.yaml}
              secret: {url: "https://x", headers: {A: "${MISSING}"}, policy: policies/p.yaml}
              nopolicy: {command: [x], policy: policies/none.yaml}
              broken: {command: [x], policy: policies/broken.yaml}
            """)
        try "tools:\n  t: {limts: []}\n".write(
            toFile: URL(fileURLWithPath: path).deletingLastPathComponent().appending(path: "policies/broken.yaml").path,
            atomically: true, encoding: .utf8)
        let found = problems(path)
        let messages = found.map(\.description)
        #expect(found.contains { $0.pointer.description == "/listen/port" && $0.position?.line == 1 }, "\(messages)")
        #expect(found.contains { $0.pointer.description == "/listen/hots" && $0.suggestion == "host" })
        #expect(found.contains { $0.pointer.description == "/limits/upstream_timeout" })
        #expect(found.contains { $0.pointer.description == "/servers/bad name" && $0.message.contains("letters, digits") })
        #expect(found.contains { $0.pointer.description == "/servers/both" && $0.message.contains("exactly one of") })
        #expect(found.contains { $0.message.contains("environment variable MISSING is not set") })
        #expect(!messages.contains { $0.contains("s3cret") })
        #expect(found.contains { $0.pointer.description == "/servers/nopolicy/policy" && $0.message.contains("cannot read the policy file") })
        #expect(found.contains { ($0.file ?? "").hasSuffix("broken.yaml") && $0.suggestion == "limits" })
        #expect(found.count == 8)
    }

    @Test func anonymousModeOnlyOnLoopback() throws {
        let path = try write("listen: {host: 0.0.0.0, anonymous: true}\nservers:\n  s: {command: [x], policy: policies/p.yaml}\n")
        #expect(problems(path).contains { $0.message.contains("loopback development only") })
        let loopback = try write("listen: {anonymous: true}\nservers:\n  s: {command: [x], policy: policies/p.yaml}\n")
        #expect(try load(loopback).listen.anonymous)
    }

    @Test func approvalsTakeAWebhookWithHeadersAndADashboardURL() throws {
        let config = try load(
            try write(
                """
                servers: {time: {command: [t], policy: policies/p.yaml}}
                approvals:
                  webhook: {url: "https://hooks.example/w", headers: {Authorization: "Bearer ${HOOK}"}}
                  dashboard_url: https://warden.example
                """), environment: ["HOOK": "h"])
        #expect(config.approvals.webhookURL == "https://hooks.example/w")
        #expect(config.approvals.webhookHeaders == ["Authorization": "Bearer h"])
        #expect(config.approvals.dashboardURL == "https://warden.example")
        let short = try load(try write("servers: {time: {command: [t], policy: policies/p.yaml}}\napprovals: {webhook: http://127.0.0.1:9/h}\n"))
        #expect(short.approvals.webhookURL == "http://127.0.0.1:9/h")
        let found = problems(try write("servers: {time: {command: [t], policy: policies/p.yaml}}\napprovals: {webhook: ftp://x, dashbord_url: y}\n"))
        #expect(found.contains { $0.message.contains("unknown key \"dashbord_url\"") })
        #expect(found.contains { $0.message == "the webhook must be an http(s) URL at /approvals/webhook" })
    }

    @Test func theAuditKeepsArgumentValuesOnlyWhenAskedTo() throws {
        let servers = "servers: {time: {command: [t], policy: policies/p.yaml}}\n"
        #expect(try load(try write(servers)).audit.auditedArguments == nil)
        let kept = try load(try write(servers + "audit: {arguments: values, redact: [args.password]}\n"))
        #expect(kept.audit.auditedArguments == ArgumentRedaction(paths: ["args.password"]))
        let found = problems(try write(servers + "audit: {arguments: all, redact: [password]}\n"))
        #expect(found.contains { $0.message == "unknown value \"all\" at /audit/arguments; expected hash or values" })
        #expect(found.contains { $0.message.contains("\"password\" at /audit/redact/0 is not an argument path") })
    }

    @Test func serversAreRequired() throws {
        #expect(problems(try write("listen: {port: 8000}\n")).contains { $0.message == "missing required key \"servers\" at the top level" })
        #expect(problems(try write("servers: {}\n")).contains { $0.message.contains("name at least one server") })
    }
}
