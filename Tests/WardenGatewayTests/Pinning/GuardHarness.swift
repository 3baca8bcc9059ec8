import Foundation
import Logging
import Synchronization
import WardenCatalogue
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore
import WardenTesting

@testable import WardenGateway

/// A session pipeline with a ``ToolDefinitionGuard``, between a ``FakeUpstream`` whose tools a
/// test can change mid-session (a rug pull) and a ``RecordingSink``, over an ``InMemoryStore``.
/// The lock file pins ``pinned`` for the server `files`, in a temporary folder.
struct GuardHarness {
    let store = InMemoryStore()
    let server = FakeUpstream()
    let client = RecordingSink()
    let clock = TestClock()
    let audit: AuditWriter
    let pipeline: SessionPipeline
    let book: PinBook
    let relay: Task<Void, Never>
    /// What the server lists now.
    let listed: ListedTools

    static let pinned: [JSONValue] = [
        ["name": "echo", "description": "Echoes its text", "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]]]],
        ["name": "delete", "description": "Deletes a file"],
        ["name": "secret", "description": "Hidden by the policy"],
    ]

    static let policy = """
        version: "1"
        default: deny
        hide: [secret]
        tools:
          echo: {}
          delete: {action: deny, reason: nothing is deleted here}
          added: {}
        """

    init(
        onDrift: ToolDefinitionGuard.Action = .block, onPoisoning: ToolDefinitionGuard.Action? = nil, pins: [JSONValue] = Self.pinned,
        pinServer: String = "files", approvals: Bool = true
    ) throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-pins-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let policyPath = folder.appending(path: "policy.yaml").path
        try Self.policy.write(toFile: policyPath, atomically: true, encoding: .utf8)
        var lock = LockFile()
        for entry in pins { lock.pin(ToolDefinition(listEntry: entry)!, server: pinServer) }
        let lockPath = folder.appending(path: "warden.lock").path
        try Data(lock.encoded()).write(to: URL(fileURLWithPath: lockPath))
        book = try PinBook.load(path: lockPath)
        var logger = Logger(label: "warden-pin-test")
        logger.logLevel = .critical
        let listed = ListedTools(Self.pinned)
        self.listed = listed
        server.answer("tools/list") { _ in .result(["tools": .array(listed.tools.withLock { $0 })]) }
        server.answer("tools/call") { _ in .result(["content": [["type": "text", "text": "ran"]]]) }
        audit = AuditWriter(log: store.audit, onError: { _ in })
        var configuration = SessionPipeline.Configuration(
            serverName: "files", identity: Identity(name: "ada", grant: "g_ada"), session: "s-\(UUID().uuidString)",
            approvals: approvals ? ApprovalDesk(store: store.approvals, pollInterval: .milliseconds(200), clock: clock) : nil)
        configuration.definitionGuard = ToolDefinitionGuard(.init(server: "files", pins: book, onDrift: onDrift, onPoisoning: onPoisoning))
        pipeline = SessionPipeline(
            configuration: configuration, policy: try PolicyFile(path: policyPath, logger: logger), ledger: store.counters, audit: audit,
            logger: logger, client: client)
        let (pipeline, server) = (pipeline, server)
        relay = Task { await pipeline.relay(from: server) }
    }

    /// The server's tool `name` now says `description` (a rug pull).
    func change(_ name: String, description: String) {
        listed.tools.withLock { tools in
            for index in tools.indices where tools[index]["name"]?.stringValue == name {
                guard case .object(var object) = tools[index] else { continue }
                object.set("description", to: .string(description))
                tools[index] = .object(object)
            }
        }
    }

    func send(_ message: String) async {
        await pipeline.handleClientLine(.message(Array(message.utf8)), server: server)
    }

    /// The client lists the tools; returns the names it was shown.
    func listedNames(id: Int) async throws -> [String] {
        await send(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/list"}"#)
        let answer = try JSONReader.parse(try await client.nextMessage())
        return answer["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }

    /// The client calls `tool`; returns the answer (`ran` from the server when it was forwarded).
    func call(_ tool: String, id: Int) async throws -> JSONValue {
        await send(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{}}}"#)
        return try JSONReader.parse(try await client.nextMessage())
    }

    /// How many calls reached the server.
    var callsForwarded: Int {
        server.sent.filter { (try? JSONReader.parse($0))?["method"] == "tools/call" }.count
    }

    func auditRecords() async throws -> [AuditRecord] {
        await audit.flush()
        return try await store.audit.entries().map(\.record)
    }
}

/// The tools a fake server lists, which a test changes.
final class ListedTools: Sendable {
    let tools: Mutex<[JSONValue]>

    init(_ tools: [JSONValue]) {
        self.tools = Mutex(tools)
    }
}
