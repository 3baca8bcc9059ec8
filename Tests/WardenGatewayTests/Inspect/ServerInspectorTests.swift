import Foundation
import Synchronization
import Testing
import WardenCatalogue
import WardenJSON

@testable import WardenGateway

/// The inspector against real processes: the e2e suite's echo server (14 tools over 7
/// pages), a small server with resources and prompts, and commands that fail in each way.
@Suite struct ServerInspectorTests {
    static let echo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "tests/e2e/fixtures/echo_server.py").path

    /// A stdio server declaring resources and prompts: resources over two pages, prompts/list
    /// answered with an error, and a ping of its own before answering tools/list.
    static let listing = #"""
        import json, sys
        for raw in sys.stdin:
            m = json.loads(raw)
            if "id" not in m or "method" not in m: continue
            r = None
            if m["method"] == "initialize":
                r = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
                     "serverInfo": {"name": "lister", "version": "0.3"}, "instructions": "Lists things."}
            elif m["method"] == "tools/list":
                sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"}) + "\n"); sys.stdout.flush()
                r = {"tools": [{"name": "get_thing", "description": "Gets a thing.", "inputSchema": {"type": "object"}}]}
            elif m["method"] == "prompts/list":
                out = {"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32603, "message": "no database configured"}}
                sys.stdout.write(json.dumps(out) + "\n"); sys.stdout.flush(); continue
            elif m["method"] == "resources/list":
                if m.get("params", {}).get("cursor") == "p2": r = {"resources": [{"uri": "file:///b", "name": "b"}]}
                else: r = {"resources": [{"uri": "file:///a", "name": "a"}], "nextCursor": "p2"}
            if r is None:
                out = {"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": "Method not found"}}
            else:
                out = {"jsonrpc": "2.0", "id": m["id"], "result": r}
            sys.stdout.write(json.dumps(out) + "\n"); sys.stdout.flush()
        """#

    static func script(_ source: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appending(path: "warden-inspect-\(UUID().uuidString).py").path
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func listsEveryPageOfAStdioServer() async throws {
        let lines = Lines()
        let listing = try await ServerInspector.list(.command(["python3", Self.echo])) { lines.add($0) }
        #expect(listing.name == "echo")
        #expect(listing.version == "1")
        #expect(listing.tools.count == 14)
        #expect(listing.tools.first?.name == "echo")
        #expect(listing.resources.isEmpty && listing.prompts.isEmpty)
        #expect(listing.truncated.isEmpty)
        #expect(lines.all.contains("listing tools (page 7)"))
    }

    @Test func stopsAtThePageBound() async throws {
        var options = ServerInspector.Options()
        options.maxPages = 3
        let listing = try await ServerInspector.list(.command(["python3", Self.echo]), options: options)
        #expect(listing.tools.count == 6)
        #expect(listing.truncated == ["tools/list"])
    }

    @Test func listsResourcesAndSurvivesAFailedPromptList() async throws {
        let path = try Self.script(Self.listing)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let listing = try await ServerInspector.list(.command(["python3", path]))
        #expect(listing.name == "lister")
        #expect(listing.instructions == "Lists things.")
        #expect(listing.tools.map(\.name) == ["get_thing"])
        #expect(listing.resources.compactMap { $0["uri"]?.stringValue } == ["file:///a", "file:///b"])
        #expect(listing.prompts.isEmpty)
        #expect(listing.failed == ["prompts/list: error -32603: no database configured"])
    }

    @Test func aMissingCommandSaysSo() async throws {
        let error = await #expect(throws: InspectionError.self) {
            try await ServerInspector.list(.command(["warden-no-such-server-xyz"]))
        }
        #expect(error?.kind == .commandNotFound)
        #expect(error?.description.contains("command not found: warden-no-such-server-xyz") == true)
        #expect(error?.description.contains("PATH") == true)
    }

    @Test func anExitNamesItsStatusAndLastStderrLine() async throws {
        let error = await #expect(throws: InspectionError.self) {
            try await ServerInspector.list(.command(["python3", "-c", "import sys; sys.stderr.write('starting\\nneeds GITHUB_TOKEN\\n'); sys.exit(3)"]))
        }
        #expect(error?.kind == .exited(3))
        #expect(error?.description.contains("exited with status 3") == true)
        #expect(error?.description.contains("needs GITHUB_TOKEN") == true, "\(String(describing: error))")
    }

    @Test func aSilentServerTimesOut() async throws {
        var options = ServerInspector.Options()
        options.timeout = .milliseconds(500)
        let error = await #expect(throws: InspectionError.self) {
            try await ServerInspector.list(.command(["sleep", "300"]), options: options)
        }
        #expect(error?.kind == .timedOut)
        #expect(error?.stage == "initialize")
    }

    @Test func aClosedPortIsUnreachable() async throws {
        let error = await #expect(throws: InspectionError.self) {
            try await ServerInspector.list(.remote(url: "http://127.0.0.1:9/mcp", transport: .streamableHTTP))
        }
        #expect(error?.kind == .unreachable, "\(String(describing: error))")
        #expect(error?.description.contains("could not connect to 127.0.0.1:9") == true)
        #expect(error?.description.contains("http://127.0.0.1:9/mcp") == true)
    }

    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }
}
