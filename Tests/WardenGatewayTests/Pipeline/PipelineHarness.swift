import Foundation
import Logging
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore
import WardenTesting

@testable import WardenGateway

/// A session pipeline between a ``FakeUpstream`` and a ``RecordingSink``, over an
/// ``InMemoryStore``, with held calls waiting on a ``TestClock``. The server answers
/// `tools/list` with ``tools`` until a test says otherwise.
struct PipelineHarness {
    let store: InMemoryStore
    let server = FakeUpstream()
    let client = RecordingSink()
    let clock = TestClock()
    let audit: AuditWriter
    let pipeline: SessionPipeline
    /// The pipeline relaying the server's messages; it ends once the server is gone.
    let relay: Task<Void, Never>

    static let pollInterval = Duration.milliseconds(200)
    static let progressInterval = Duration.seconds(1)

    /// Every tool the policy below names, as the server advertises them.
    static let tools: [JSONValue] = ["echo", "delete", "secret", "limited", "typed", "tried", "refund"].map { ["name": .string($0)] } + [
        ["name": "validated", "inputSchema": ["type": "object", "properties": ["n": ["type": "integer"]], "required": ["n"]]]
    ]

    static let policy = """
        version: "1"
        default: deny
        hide: [secret]
        tools:
          echo: {}
          delete: {action: deny, reason: nothing is deleted here}
          limited:
            limits:
              - {counter: limited_calls, window: hour, max: 2, scope: identity}
          typed:
            args:
              type: object
              required: [count]
              properties:
                count: {type: integer, maximum: 10}
          validated:
            validate_input: true
          tried:
            mode: shadow
            require:
              - {path: args.rows, op: lte, value: 10, reason: at most 10 rows}
          refund:
            action: require_approval
            reason: refunds are checked by a person
            approval: {timeout: 30s, approvers: []}
            limits:
              - {counter: refunds, window: hour, max: 1, scope: identity}
        """

    /// - Parameters:
    ///   - policy: The policy's YAML.
    ///   - tools: What the server advertises (one page).
    ///   - store: Where counts, audit records and approvals go; share one between harnesses
    ///     to see counts given back.
    ///   - ledger: Where limits are counted; by default the store's counters.
    ///   - approvals: Whether the gateway holds calls for approval (or refuses them).
    ///   - grant: The id of the caller's grant.
    ///   - revocation: Why an approved call may no longer run (``ApprovalDesk/revocation``);
    ///     by default nothing stops it.
    init(
        policy: String = Self.policy, tools: [JSONValue]? = Self.tools, store: InMemoryStore = InMemoryStore(),
        ledger: (any CounterLedger)? = nil, approvals: Bool = true, grant: String = "g_ada",
        revocation: @escaping @Sendable (Approval) async -> String? = { _ in nil }
    ) throws {
        self.store = store
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appending(path: "policy.yaml").path
        try policy.write(toFile: path, atomically: true, encoding: .utf8)
        var logger = Logger(label: "warden-pipeline-test")
        logger.logLevel = .critical
        if let tools { server.answer("tools/list") { _ in .result(["tools": .array(tools)]) } }
        audit = AuditWriter(log: store.audit, onError: { _ in })
        let desk = ApprovalDesk(
            store: store.approvals, pollInterval: Self.pollInterval, progressInterval: Self.progressInterval, revocation: revocation,
            clock: clock)
        pipeline = SessionPipeline(
            configuration: .init(
                serverName: "files", identity: Identity(name: "ada", grant: grant), session: "s-\(UUID().uuidString)",
                approvals: approvals ? desk : nil),
            policy: try PolicyFile(path: path, logger: logger), ledger: ledger ?? store.counters, audit: audit, logger: logger,
            client: client, metrics: GatewayMetrics())
        let (pipeline, server) = (pipeline, server)
        relay = Task { await pipeline.relay(from: server) }
    }

    // MARK: - The client's side

    /// The client sends `message` (one line, as text).
    func send(_ message: String) async {
        await pipeline.handleClientLine(.message(Array(message.utf8)), server: server)
    }

    /// The client calls `tool`; `id` and `arguments` are JSON text.
    func call(_ tool: String, id: String = "1", arguments: String = "{}", meta: String? = nil) async {
        let params = meta.map { #","_meta":\#($0)"# } ?? ""
        await send(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)\#(params)}}"#)
    }

    /// The next message the client got, parsed.
    func answer() async throws -> JSONValue {
        try JSONReader.parse(try await client.nextMessage())
    }

    // MARK: - The server's side

    /// The next message the server got other than Warden's own `tools/list` requests, parsed.
    func forwarded() async throws -> JSONValue {
        while true {
            let message = try JSONReader.parse(try await server.nextSent())
            if case .string(let id)? = message["id"], id.hasPrefix("warden-") { continue }
            return message
        }
    }

    /// The server answers the request Warden sent it under `id` with `result`.
    func reply(to id: JSONValue?, result: JSONValue = ["content": [["type": "text", "text": "ok"]]]) {
        server.push(["jsonrpc": "2.0", "id": id ?? .null, "result": result])
    }

    // MARK: - The store

    /// Every audit record written so far, oldest first.
    func auditRecords() async throws -> [AuditRecord] {
        await audit.flush()
        return try await store.audit.entries().map(\.record)
    }

    /// The approval a held call waits for, once it is waiting on the clock (stored, audited,
    /// its first progress sent).
    func heldApproval() async throws -> Approval {
        try await clock.waitForSleepers()
        let pending = try await store.approvals.list(status: .pending)
        guard let approval = pending.first, pending.count == 1 else { throw HarnessError("expected one pending approval, found \(pending.count)") }
        return approval
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    /// The text of a tool result's first content item, or an error's message.
    var text: String? {
        self["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue ?? self["error"]?["message"]?.stringValue
    }

    /// The code of a JSON-RPC error response.
    var errorCode: Int? {
        self["error"]?["code"]?.numberValue.flatMap { Int($0.text) }
    }
}
