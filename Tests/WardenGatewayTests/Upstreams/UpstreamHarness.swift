import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import WardenJSON
import WardenStore

@testable import WardenGateway

/// A gateway as `warden serve` loads it, in a temporary folder of its own (configuration,
/// policy files, SQLite store): driven in process through its router, or served on 127.0.0.1
/// for another gateway to reach as a remote server.
struct UpstreamHarness: Sendable {
    let gateway: HTTPGateway
    let store: SQLiteStore
    let folder: URL

    /// The e2e suite's echo server (tests/e2e/fixtures/echo_server.py, standard library only).
    static let echoServer = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "tests/e2e/fixtures/echo_server.py").path

    /// `policy.yaml`: every call allowed.
    static let allowAll = "version: \"1\"\ndefault: allow\n"

    /// - Parameters:
    ///   - configuration: The configuration after `version:`; policy files are named relative
    ///     to the folder.
    ///   - policies: The policy files to write, by file name.
    init(_ configuration: String, policies: [String: String] = ["policy.yaml": allowAll]) async throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "warden-upstream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in policies { try text.write(to: folder.appending(path: name), atomically: true, encoding: .utf8) }
        let text = "version: \"1\"\n" + configuration
        let path = folder.appending(path: "warden.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try GatewayConfiguration.load(Array(text.utf8), file: path, environment: [:])
        store = try SQLiteStore(path: folder.appending(path: "warden.db").path)
        var logger = Logger(label: "warden-upstream-test")
        logger.logLevel = .critical
        gateway = try await HTTPGateway(configuration: loaded, store: store, logger: logger)
    }

    /// A file in the gateway's folder.
    func path(_ name: String) -> String {
        folder.appending(path: name).path
    }

    /// A grant token reaching `servers`, under the policy file `policy`.
    func grant(_ servers: [String], policy: String = "policy.yaml", label: String = "agent") async throws -> (id: String, token: String) {
        let issued = try await store.grants.create(label: label, servers: servers, policy: path(policy))
        return (issued.grant.id, issued.token)
    }

    /// Runs `body` with a client of the gateway's router (no socket), then shuts the gateway down.
    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        do {
            try await Application(router: gateway.makeRouter(), logger: gateway.logger).test(.router, body)
        } catch {
            await shutDown()
            throw error
        }
        await shutDown()
    }

    /// Every audit record written so far, oldest first.
    func auditRecords() async throws -> [AuditRecord] {
        await gateway.audit.flush()
        return try await store.audit.entries().map(\.record)
    }

    /// Ends every session (their servers stop, remote sessions are closed) and closes the
    /// connections to remote servers.
    func shutDown() async {
        await gateway.registry.drain()
        await gateway.remoteClients.shutdown()
    }

    /// Serves the gateway on 127.0.0.1, on a port the system picks, while `body` runs with
    /// that port; then ends its sessions and stops serving.
    func serving<Value: Sendable>(_ body: (Int) async throws -> Value) async throws -> Value {
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: gateway.makeRouter(), server: gateway.connections.http1(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "warden"),
            onServerRunning: { channel in
                listening.yield(channel.localAddress?.port ?? 0)
                listening.finish()
            },
            logger: gateway.logger)
        let services = ServiceGroup(configuration: .init(services: [application], logger: gateway.logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { listening.finish() }  // a server that could not listen names no port
                try await services.run()
            }
            var bound = ports.makeAsyncIterator()
            guard let port = await bound.next(), port > 0 else {
                try await group.waitForAll()
                throw HarnessError("the gateway did not listen")
            }
            gateway.boundPort.listened(on: port)
            let result: Result<Value, any Error>
            do {
                result = .success(try await body(port))
            } catch {
                result = .failure(error)
            }
            await shutDown()
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return try result.get()
        }
    }

    /// A port of 127.0.0.1 nothing listens on (it did a moment ago).
    private static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw HarnessError("no port was bound") }
        return port
    }

    /// A gateway whose server `remote` is at `path` of a port nothing listens on (over the
    /// legacy HTTP+SSE transport when `legacySSE`), with a 1 s upstream timeout; and a grant
    /// token reaching it.
    static func inFrontOfADeadServer(path: String, legacySSE: Bool = false) async throws -> (harness: UpstreamHarness, token: String) {
        let port = try await closedPort()
        let harness = try await UpstreamHarness(
            """
            listen: {host: 0.0.0.0, port: 0}
            limits: {upstream_timeout: 1s}
            servers:
              remote: {url: "http://127.0.0.1:\(port)\(path)",\(legacySSE ? " transport: sse," : "") policy: policy.yaml}
            """)
        return (harness, try await harness.grant(["remote"]).token)
    }
}

/// Two gateways: the inner one serves the echo server (`echo`) on 127.0.0.1; the outer one,
/// driven through its router, reaches it as its remote server `remote`, over Streamable HTTP
/// (`/mcp/echo`) or the legacy HTTP+SSE transport (`/sse/echo`), with a grant token of the
/// inner gateway in its configured headers. A request the outer gateway's server leaves
/// unanswered fails after 15 seconds, well inside the suites' time limit.
struct RemotePair: Sendable {
    let inner: UpstreamHarness
    let outer: UpstreamHarness
    /// A grant token of the outer gateway reaching `remote`.
    let token: String

    /// - Parameters:
    ///   - legacySSE: Whether the outer gateway reaches the inner one over HTTP+SSE.
    ///   - policy: The outer gateway's policy for `remote` (the inner one allows everything).
    ///   - innerLimits: The inner gateway's `limits:` line, if any.
    static func run(
        legacySSE: Bool = false, policy: String = UpstreamHarness.allowAll, innerLimits: String = "",
        _ body: @Sendable (RemotePair, any TestClientProtocol) async throws -> Void
    ) async throws {
        let inner = try await UpstreamHarness(
            """
            listen: {host: 127.0.0.1, port: 0}
            \(innerLimits)
            servers:
              echo: {command: [python3, "\(UpstreamHarness.echoServer)"], policy: policy.yaml}
            """)
        let (_, innerToken) = try await inner.grant(["echo"])
        try await inner.serving { port in
            let outer = try await UpstreamHarness(
                """
                listen: {host: 0.0.0.0, port: 0}
                limits: {upstream_timeout: 15s}
                servers:
                  remote:
                    url: "http://127.0.0.1:\(port)/\(legacySSE ? "sse" : "mcp")/echo"
                    headers: {Authorization: "Bearer \(innerToken)"}
                    transport: \(legacySSE ? "sse" : "streamable-http")
                    policy: policy.yaml
                """,
                policies: ["policy.yaml": policy])
            let (_, token) = try await outer.grant(["remote"])
            try await outer.test { client in try await body(RemotePair(inner: inner, outer: outer, token: token), client) }
        }
    }

    /// The `tools/call` records of a gateway's audit log: tool, decision, upstream status.
    static func calls(_ harness: UpstreamHarness) async throws -> [[String?]] {
        try await harness.auditRecords().filter { $0.method == "tools/call" }.map { [$0.tool, $0.decision, $0.upstreamStatus] }
    }
}

/// A client of a gateway's MCP endpoint: one session's requests, posted as JSON.
struct MCPClient {
    let client: any TestClientProtocol
    let path: String
    let token: String
    var session: String?

    static let initialize = HTTPGatewayTests.initialize

    /// POSTs `body` in the session (if open), waiting for its answer.
    func post(_ body: String) async throws -> TestResponse {
        try await HTTPGatewayTests.post(client, path, body, token: token, session: session, headers: [.accept: "application/json"])
    }

    /// POSTs a request and reads its answer.
    func request(_ body: String) async throws -> JSONValue {
        let response = try await post(body)
        guard response.status == .ok else { throw HarnessError("HTTP \(response.status.code): \(String(buffer: response.body))") }
        return try HTTPGatewayTests.json(response)
    }

    /// Opens the session: `initialize` (its answer is returned), then `notifications/initialized`.
    mutating func open() async throws -> JSONValue {
        let response = try await post(Self.initialize)
        guard response.status == .ok, let session = response.headers[.mcpSessionID] else {
            throw HarnessError("initialize: HTTP \(response.status.code): \(String(buffer: response.body))")
        }
        self.session = session
        let answer = try HTTPGatewayTests.json(response)
        let initialized = try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        guard initialized.status == .accepted else { throw HarnessError("notifications/initialized: HTTP \(initialized.status.code)") }
        return answer
    }

    /// Calls `tool` with `arguments` (JSON text) under `id` (JSON text).
    func call(_ tool: String, id: String, arguments: String = "{}") async throws -> JSONValue {
        try await request(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)}}"#)
    }

    /// Every tool the server lists, following `nextCursor` (at most 20 pages).
    func listTools() async throws -> [String] {
        var names: [String] = []
        var cursor: String?
        for page in 1...20 {
            let params = cursor.map { #"{"cursor":"\#($0)"}"# } ?? "{}"
            let answer = try await request(#"{"jsonrpc":"2.0","id":"list-\#(page)","method":"tools/list","params":\#(params)}"#)
            guard answer["id"] == .string("list-\(page)"), let tools = answer["result"]?["tools"]?.arrayValue else {
                throw HarnessError("tools/list: \(answer)")
            }
            names += tools.compactMap { $0["name"]?.stringValue }
            cursor = answer["result"]?["nextCursor"]?.stringValue
            if cursor == nil { return names }
        }
        throw HarnessError("tools/list did not end")
    }
}

extension JSONValue {
    /// The request line the echo server answered `echo` (or `slow`) with, parsed: the call as
    /// the server received it.
    var echoed: JSONValue? {
        guard self["result"]?["isError"] == false, let text = self["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue else {
            return nil
        }
        return try? JSONReader.parse(text)
    }
}
