import WardenCatalogue
import Synchronization
import WardenJSON
import WardenMCP

/// A small MCP client that lists what a server offers: it connects (starts a stdio command,
/// or opens a remote Streamable HTTP or legacy SSE session), makes the `initialize`
/// handshake, and reads every page of `tools/list`, `resources/list` and `prompts/list`
/// within a bound on time and pages. What `warden scan` and `warden pin` read a server with.
///
/// ```swift
/// let listing = try await ServerInspector.list(.command(["mcp-server-time"])) { print($0) }
/// for tool in listing.tools { print(tool.name, tool.fingerprint) }
/// ```
public enum ServerInspector {
    /// Bounds on one listing.
    public struct Options: Sendable {
        /// How long connecting and listing may take in all. The default is 30 seconds.
        public var timeout: Duration = .seconds(30)
        /// The most pages read of each list; a list cut off there is named in
        /// ``ServerListing/truncated``. The default is 100.
        public var maxPages = 100
        /// The largest message accepted from the server, in bytes. The default is 16 MiB.
        public var maxMessageBytes = 16 * 1024 * 1024

        public init() {}
    }

    /// Lists the server `target` names, and ends the connection (a started process is stopped).
    ///
    /// - Parameters:
    ///   - target: The command or URL.
    ///   - options: Bounds on time and pages.
    ///   - progress: Told what is happening, one short line at a time (`initializing`, `listing tools (page 2)`).
    /// - Throws: ``InspectionError`` saying what failed and what to check.
    public static func list(
        _ target: InspectionTarget, options: Options = Options(), progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(InspectionError) -> ServerListing {
        switch target {
        case .command:
            return try await list(target, legacySSE: false, options: options, progress: progress)
        case .remote(let url, _, let transport):
            switch transport {
            case .sse: return try await list(target, legacySSE: true, options: options, progress: progress)
            case .streamableHTTP: return try await list(target, legacySSE: false, options: options, progress: progress)
            case .automatic:
                if url.split(separator: "?").first?.hasSuffix("/sse") == true {
                    return try await list(target, legacySSE: true, options: options, progress: progress)
                }
                do {
                    return try await list(target, legacySSE: false, options: options, progress: progress)
                } catch let error where error.stage == "initialize" && [.httpStatus(404), .httpStatus(405)].contains(error.kind) {
                    // A server of the 2024-11-05 transport refuses the POST: try its event stream.
                    progress("no Streamable HTTP there (HTTP \(error.kind == .httpStatus(404) ? 404 : 405)); trying the legacy SSE transport")
                    return try await list(target, legacySSE: true, options: options, progress: progress)
                }
            }
        }
    }

    private static func list(
        _ target: InspectionTarget, legacySSE: Bool, options: Options, progress: @escaping @Sendable (String) -> Void
    ) async throws(InspectionError) -> ServerListing {
        progress(target.isCommand ? "starting \(target.displayName)" : "connecting to \(target.displayName)")
        try await RemoteProbe.check(target, timeout: options.timeout)
        let connection = try InspectionConnection.open(
            target, legacySSE: legacySSE, maxMessageBytes: options.maxMessageBytes, timeout: options.timeout)
        let stage = Stage()
        let outcome: Result<ServerListing, InspectionError>
        do {
            let listing = try await withTimeout(options.timeout, abort: connection.abort) {
                try await list(over: connection, options: options, stage: stage, progress: progress)
            }
            outcome = .success(listing)
        } catch is TimedOut {
            outcome = .failure(
                InspectionError(
                    .timedOut, target: target.displayName, stage: stage.current, detail: "no answer within \(options.timeout)",
                    hint: "Check that the server starts and answers on its own (a server waiting for a login or a download can take longer: pass a longer --timeout)."))
        } catch {
            outcome = .failure(await connection.diagnose(error, stage: stage.current))
        }
        await connection.close()
        return try outcome.get()
    }

    /// What the listing is doing, for an error's `stage`.
    private final class Stage: Sendable {
        private let value = Mutex("initialize")
        var current: String { value.withLock { $0 } }
        func set(_ stage: String) { value.withLock { $0 = stage } }
    }

    private static func list(
        over connection: InspectionConnection, options: Options, stage: Stage, progress: @escaping @Sendable (String) -> Void
    ) async throws -> ServerListing {
        progress("initializing")
        let initialized = try await connection.request(
            "initialize", params: MCPHandshake.initialize(id: 0, protocolVersion: ProtocolVersions.latestWithHandshake, role: "scan")["params"] ?? [:])
        await connection.notify("notifications/initialized")
        var listing = ServerListing(
            name: initialized["serverInfo"]?["name"]?.stringValue,
            version: initialized["serverInfo"]?["version"]?.stringValue,
            protocolVersion: initialized["protocolVersion"]?.stringValue,
            instructions: initialized["instructions"]?.stringValue,
            capabilities: initialized["capabilities"]?.objectValue ?? JSONObject())
        let declares = { (capability: String) in listing.capabilities[capability] != nil }

        stage.set("tools/list")
        let (tools, toolsCut) = try await pages(of: "tools/list", key: "tools", over: connection, options: options, progress: progress)
        listing.tools = tools.compactMap(ToolDefinition.init(listEntry:))
        if toolsCut { listing.truncated.append("tools/list") }
        for (capability, method) in [("resources", "resources/list"), ("prompts", "prompts/list")] where declares(capability) {
            stage.set(method)
            do {
                let (entries, cut) = try await pages(of: method, key: capability, over: connection, options: options, progress: progress)
                if capability == "resources" { listing.resources = entries } else { listing.prompts = entries }
                if cut { listing.truncated.append(method) }
            } catch InspectionConnection.RequestFailure.answered(let code, let message) {
                // A server that cannot list its resources without configuration still has its tools.
                listing.failed.append("\(method): error \(code): \(message)")
                progress("\(method) failed (error \(code)): none listed")
            }
        }
        return listing
    }

    /// Every entry under `key` of every page of `method`, and whether the page bound cut it
    /// off. A server answering method-not-found has none.
    private static func pages(
        of method: String, key: String, over connection: InspectionConnection, options: Options,
        progress: @escaping @Sendable (String) -> Void
    ) async throws -> (entries: [JSONValue], truncated: Bool) {
        var entries: [JSONValue] = []
        var count = 0
        var truncated = false
        do {
            try await ToolListPages.forEach { cursor in
                guard count < options.maxPages else {
                    truncated = true
                    return nil
                }
                count += 1
                progress(count == 1 ? "listing \(key)" : "listing \(key) (page \(count))")
                let result = try await connection.request(method, params: ToolListPages.params(cursor: cursor))
                entries += result[key]?.arrayValue ?? []
                return result
            }
        } catch InspectionConnection.RequestFailure.answered(let code, _) where code == JSONRPCError.methodNotFound && count == 1 {
            return ([], false)
        }
        return (entries, truncated)
    }

    private struct TimedOut: Error {}

    /// `operation`'s result, or ``TimedOut`` once `timeout` has passed; then `abort` is called,
    /// which must make `operation` end (it ends the connection the operation waits on).
    private static func withTimeout<Value: Sendable>(
        _ timeout: Duration, abort: @escaping @Sendable () -> Void, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                abort()
                throw TimedOut()
            }
            return value
        }
    }
}

extension InspectionTarget {
    var isCommand: Bool {
        if case .command = self { return true }
        return false
    }
}
