import Foundation
import Synchronization
import WardenJSON
import WardenMCP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inspector's one connection to its server: an ``Upstream`` it sends requests on and
/// reads answers from, one at a time, and what tells why the server went away (a process's
/// exit status and last stderr line, a remote upstream's last error).
final class InspectionConnection: Sendable {
    let target: InspectionTarget
    let upstream: any Upstream
    private let process: ServerProcess?
    /// Where a stdio server's stderr goes, read back when it fails.
    private let stderrPath: String?
    private let clients: RemoteClients?
    private let log: LastErrorLog
    private let nextID = Mutex(0)

    /// A failed request: the server answered with an error, or went away first.
    enum RequestFailure: Error {
        case answered(code: Int, message: String)
        case ended
    }

    private init(
        target: InspectionTarget, upstream: any Upstream, process: ServerProcess? = nil, stderrPath: String? = nil,
        clients: RemoteClients? = nil, log: LastErrorLog
    ) {
        self.target = target
        self.upstream = upstream
        self.process = process
        self.stderrPath = stderrPath
        self.clients = clients
        self.log = log
    }

    /// Starts the command or opens the remote session (`legacySSE` picks the transport of a remote target).
    static func open(_ target: InspectionTarget, legacySSE: Bool, maxMessageBytes: Int, timeout: Duration) throws(InspectionError) -> InspectionConnection {
        let log = LastErrorLog()
        switch target {
        case .command(let command, let environment):
            guard let executable = command.first else {
                throw InspectionError(.commandNotFound, target: "(no command)", stage: "starting", detail: "no command was given", hint: "Name the server's command after `--`.")
            }
            let path = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
            guard Self.resolve(executable, path: path) != nil else {
                throw InspectionError(
                    .commandNotFound, target: target.displayName, stage: "starting", detail: "command not found: \(executable)",
                    hint: executable.contains("/") ? "Check that the file exists and is executable." : "Check that it is installed and in PATH (or give its full path).")
            }
            let stderrPath = FileManager.default.temporaryDirectory.appendingPathComponent("warden-inspect-\(UUID().uuidString).stderr").path
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            do {
                guard let stderr = FileHandle(forWritingAtPath: stderrPath) else {
                    throw POSIXError(.EACCES)
                }
                defer { try? stderr.close() }
                let process = try ServerProcess(command: command, environment: environment, maxMessageBytes: maxMessageBytes, standardError: stderr)
                return InspectionConnection(target: target, upstream: process, process: process, stderrPath: stderrPath, log: log)
            } catch let error as InspectionError {
                throw error
            } catch {
                try? FileManager.default.removeItem(atPath: stderrPath)
                throw InspectionError(.couldNotStart, target: target.displayName, stage: "starting", detail: "\(error)", hint: "Check the command and its permissions.")
            }
        case .remote(let url, let headers, _):
            let clients = RemoteClients(connectionsPerHost: 4, streamsPerHost: 4, upstreamTimeout: timeout)
            let configuration = RemoteUpstream.Configuration(
                serverName: url, url: url, headers: headers, timeout: timeout, maxMessageBytes: maxMessageBytes, clients: clients)
            let upstream: any Upstream =
                legacySSE
                ? LegacySSEUpstream(configuration: configuration, logger: log.logger)
                : RemoteUpstream(configuration: configuration, deadlines: { _ in nil }, logger: log.logger)
            return InspectionConnection(target: target, upstream: upstream, clients: clients, log: log)
        }
    }

    /// The executable `name` names: a path as given, else the first match in `path`'s directories.
    static func resolve(_ name: String, path: String) -> String? {
        let files = FileManager.default
        if name.contains("/") { return files.isExecutableFile(atPath: name) ? name : nil }
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var isDirectory: ObjCBool = false
            if files.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue, files.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    // MARK: - Requests

    /// Sends a request and waits for its answer's `result`. The server's own requests met on
    /// the way are answered (`ping` with an empty result, anything else as not supported);
    /// notifications are skipped.
    func request(_ method: String, params: JSONValue = [:]) async throws -> JSONValue {
        let id = nextID.withLock { next -> JSONValue in
            next += 1
            return .number(JSONNumber(next))
        }
        let message: JSONValue = ["jsonrpc": "2.0", "id": id, "method": .string(method), "params": params]
        await upstream.send(Array(JSONWriter.write(message).utf8))
        while let message = await upstream.messages.next() {
            guard case .message(let bytes) = message.line, let value = try? message.value ?? JSONReader.parse(bytes), let object = value.objectValue
            else { continue }
            if let method = object["method"]?.stringValue {
                if let requestID = object["id"] { await answer(method, id: requestID) }
                continue
            }
            guard object["id"] == id else { continue }
            if let error = object["error"]?.objectValue {
                let code = error["code"]?.numberValue.flatMap { Int($0.text) } ?? 0
                throw RequestFailure.answered(code: code, message: error["message"]?.stringValue ?? "(no message)")
            }
            return object["result"] ?? .null
        }
        throw RequestFailure.ended
    }

    /// Sends a notification.
    func notify(_ method: String) async {
        let message: JSONValue = ["jsonrpc": "2.0", "method": .string(method)]
        await upstream.send(Array(JSONWriter.write(message).utf8))
    }

    private func answer(_ method: String, id: JSONValue) async {
        let response: [UInt8] =
            method == "ping"
            ? Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": [:]]).utf8)
            : JSONRPCError.response(id: id, code: JSONRPCError.methodNotFound, message: "Method not found: \(method)")
        await upstream.send(response)
    }

    // MARK: - Ending

    /// Ends the connection at once: a process is killed, a remote session's messages end.
    /// Whoever waits on ``request(_:params:)`` gets ``RequestFailure/ended``.
    func abort() {
        if let process {
            kill(process.processIdentifier, SIGKILL)
        } else {
            upstream.stop()
        }
    }

    /// Ends the connection cleanly: a process's stdin is closed and it is waited for (SIGTERM
    /// after 2 s, SIGKILL after 3 more, by ``ServerProcess/stop()``; killed here if still
    /// there after 6 s); a remote session is ended and its HTTP clients shut down.
    func close() async {
        upstream.stop()
        if let process {
            let exited = await Self.within(.seconds(6)) { _ = await process.waitForExit() }
            if !exited { kill(process.processIdentifier, SIGKILL) }
        }
        if let clients { await clients.shutdown() }
        if let stderrPath { try? FileManager.default.removeItem(atPath: stderrPath) }
    }

    /// Whether `operation` finished within `bound` (it is left to finish otherwise).
    private static func within(_ bound: Duration, _ operation: @escaping @Sendable () async -> Void) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await operation()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: bound)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    // MARK: - Diagnosis

    /// Why the server failed at `stage`, given what the failing request threw.
    func diagnose(_ failure: any Error, stage: String) async -> InspectionError {
        let name = target.displayName
        switch failure {
        case RequestFailure.answered(let code, let message):
            if clients != nil, code == JSONRPCError.internalError, let diagnosis = remoteDiagnosis(message, stage: stage) {
                return diagnosis
            }
            return InspectionError(
                .protocolError, target: name, stage: stage, detail: "the server answered error \(code): \(message)",
                hint: "Check that the target is an MCP server and that it starts without further configuration.")
        default:
            if let process {
                // Known already, as a rule: a server that closed its output has exited. (Asked
                // first, so that a busy machine, late to run the wait, cannot time it out.)
                let exited = process.hasExited ? true : await Self.within(.seconds(3)) { _ = await process.waitForExit() }
                var status: Int32?
                if exited { status = await process.waitForExit() }
                let lastLine = lastStderrLine().map { "; its last stderr line: \($0)" } ?? ""
                if let status {
                    return InspectionError(
                        .exited(status), target: name, stage: stage, detail: "the server exited with status \(status)\(lastLine)",
                        hint: "Check that the command runs on its own and needs no further arguments, environment or credentials.")
                }
                return InspectionError(
                    .protocolError, target: name, stage: stage, detail: "the server closed its output\(lastLine)",
                    hint: "Check that the command is an MCP server speaking over stdio.")
            }
            return remoteDiagnosis(nil, stage: stage)
                ?? InspectionError(.unreachable, target: name, stage: stage, detail: "the connection ended", hint: "Check the URL and that the server is running.")
        }
    }

    /// A remote upstream's failure, from the error it answered with (`The server … answered HTTP 401`) or logged.
    private func remoteDiagnosis(_ message: String?, stage: String) -> InspectionError? {
        let name = target.displayName
        let said = [message, log.lastError].compactMap { $0 }.joined(separator: "; ")
        if let status = Self.httpStatus(in: said) {
            let hint =
                switch status {
                case 401, 403: "The server wants credentials: pass them with --header 'Authorization: Bearer …' (or the header it expects)."
                case 404, 405: "Check the URL's path (Streamable HTTP servers usually serve /mcp; legacy SSE servers /sse) and --transport."
                default: "Check the URL and the server's log."
                }
            return InspectionError(.httpStatus(status), target: name, stage: stage, detail: "the server answered HTTP \(status)", hint: hint)
        }
        guard message == nil || said.contains("could not be reached") || said.contains("closed its event stream") else { return nil }
        let detail = log.lastError.map { "could not connect: \($0)" } ?? "could not connect"
        return InspectionError(.unreachable, target: name, stage: stage, detail: detail, hint: "Check the URL, and that the server is running and listening there (connection refused?).")
    }

    /// The status in `… HTTP 401 …`, if any.
    static func httpStatus(in text: String) -> Int? {
        guard let range = text.range(of: "HTTP ") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    /// The last non-empty line the server wrote to stderr (from its last 8 KiB), if any.
    func lastStderrLine() -> String? {
        guard let stderrPath, let handle = FileHandle(forReadingAtPath: stderrPath) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 8192 ? size - 8192 : 0)
        guard let data = try? handle.readToEnd() else { return nil }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).last { !$0.allSatisfy(\.isWhitespace) }
        return line.map { String($0.prefix(300)) }
    }
}
