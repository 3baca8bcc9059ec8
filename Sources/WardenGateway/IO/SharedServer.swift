import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP

/// One stdio server process serving every session of a server configured `shared: true`.
///
/// Warden starts the process when the first session opens and initializes it once, itself;
/// each session's `initialize` is answered from that result. Every session keeps its own
/// policing gateway: its requests reach the server with their ids (and progress tokens)
/// tagged `w<session>.<original id as JSON>`, and the answers go back to the session that
/// asked, with the original id. Notifications from the server reach every session. The
/// server's own requests cannot be routed to one client: `ping` is answered by Warden, others
/// get an error. When the process exits, every attached session ends; the next session
/// starts it again.
final class SharedServer: Sendable {
    struct Configuration: Sendable {
        var serverName: String
        var command: [String]
        var environment: [String: String]
        var maxMessageBytes: Int
        var maxDepth: Int
        /// How long the server may take to answer Warden's `initialize`.
        var startTimeout: Duration
    }

    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var phase = Phase.idle
        var members: [Int: Member] = [:]
        var nextMember = 1
        /// Messages sessions sent while the server was starting, in order.
        var waiting: [(member: Int, message: [UInt8])] = []
        var process: ServerProcess?
        /// The server's `initialize` result, once it has answered.
        var initialized: JSONValue?
        var handshake: CheckedContinuation<JSONObject, any Error>?
    }

    private enum Phase {
        case idle, starting, running
    }

    private struct Member {
        let upstream: SharedUpstream
    }

    /// The id of Warden's own `initialize` request.
    private static let handshakeID = "warden-shared-initialize"

    init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Attaches a session: its upstream, whose messages end when the session detaches or the
    /// process exits (see ``SharedUpstream/ending``). Starts the process if it is not running.
    func attach() -> SharedUpstream {
        let (upstream, start) = state.withLock { state -> (SharedUpstream, Bool) in
            let upstream = SharedUpstream(member: state.nextMember, server: self, serverName: configuration.serverName)
            state.members[state.nextMember] = Member(upstream: upstream)
            state.nextMember += 1
            guard case .idle = state.phase else { return (upstream, false) }
            state.phase = .starting
            return (upstream, true)
        }
        if start { Task { await self.start() } }
        return upstream
    }

    /// Detaches a session (it ended); the process goes on serving the others.
    func detach(_ member: Int) {
        // Its messages end: its calls still waiting get their counts back and are audited.
        state.withLock { $0.members.removeValue(forKey: member) }?.upstream.end(.detached)
    }

    func isAttached(_ member: Int) -> Bool {
        state.withLock { $0.members[member] != nil }
    }

    /// Stops the process (gateway shutdown).
    func stop() {
        state.withLock(\.process)?.stop()
    }

    var hasExited: Bool { state.withLock(\.process)?.hasExited ?? true }

    // MARK: - Starting

    private func start() async {
        let process: ServerProcess
        do {
            process = try ServerProcess(
                command: configuration.command, environment: configuration.environment, maxMessageBytes: configuration.maxMessageBytes)
        } catch {
            logger.error("could not start the shared server", metadata: ["server": "\(configuration.serverName)", "error": "\(error)"])
            endAll(status: nil, undelivered: "could not be started: \(error)")
            return
        }
        logger.info("shared server started", metadata: ["server": "\(configuration.serverName)", "pid": "\(process.processIdentifier)"])
        state.withLock { $0.process = process }
        Task {
            for await message in process.messages {
                await self.handleServerLine(message.line, process: process)
            }
            let status = await process.waitForExit()
            self.logger.info("shared server exited", metadata: ["server": "\(self.configuration.serverName)", "status": "\(status)"])
            self.endAll(status: status, undelivered: "exited")
        }
        do {
            let result = try await handshake(process)
            let waiting = state.withLock { state -> [(member: Int, message: [UInt8])] in
                state.initialized = result
                state.phase = .running
                defer { state.waiting.removeAll() }
                return state.waiting
            }
            for (member, message) in waiting { await route(message, from: member, to: process) }
        } catch {
            logger.error("the shared server did not initialize", metadata: ["server": "\(configuration.serverName)", "error": "\(error)"])
            process.stop()
        }
    }

    /// Initializes the server with Warden's own `initialize`, at most `startTimeout`.
    private func handshake(_ process: ServerProcess) async throws -> JSONValue {
        let initialize = MCPHandshake.initialize(id: .string(Self.handshakeID), protocolVersion: ProtocolVersions.sharedSession, role: "shared")
        let timeout = configuration.startTimeout
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.state.withLock { $0.handshake.take() }?.resume(throwing: OwnRequestError(description: "no answer to initialize"))
        }
        defer { timer.cancel() }
        let response = try await withCheckedThrowingContinuation { continuation in
            state.withLock { $0.handshake = continuation }
            Task { await process.send(Array(JSONWriter.write(initialize).utf8)) }
        }
        guard let result = response["result"] else { throw OwnRequestError(description: "the server refused initialize") }
        await process.send(Array(JSONWriter.write(MCPHandshake.initialized).utf8))
        return result
    }

    /// The process is gone (or never started): every attached session ends, and messages
    /// still waiting are answered as undelivered.
    private func endAll(status: Int32?, undelivered: String) {
        let (members, waiting, handshake) = state.withLock { state in
            defer {
                state = State(nextMember: state.nextMember)
            }
            return (state.members, state.waiting, state.handshake)
        }
        handshake?.resume(throwing: OwnRequestError(description: "the server exited"))
        for (member, message) in waiting {
            members[member]?.upstream.mailbox.fail(EnvelopeScanner.envelope(of: message), because: undelivered)
        }
        for member in members.values { member.upstream.end(.serverExited(status)) }
    }

    // MARK: - Client to server

    /// A session's message: sent now, or once the server has initialized.
    func send(_ message: [UInt8], from member: Int) async {
        let process = state.withLock { state -> ServerProcess? in
            guard case .running = state.phase else {
                state.waiting.append((member, message))
                return nil
            }
            return state.process
        }
        if let process { await route(message, from: member, to: process) }
    }

    private func route(_ message: [UInt8], from member: Int, to process: ServerProcess) async {
        if let tagged = Self.requestTaggedInPlace(message, from: member) {
            await process.send(tagged)
            return
        }
        guard let value = try? JSONReader.parse(message, configuration: .init(maxDepth: configuration.maxDepth)) else { return }
        let tagged = (value.arrayValue ?? [value]).compactMap { tag($0, from: member) }
        guard !tagged.isEmpty else { return }
        let outgoing: JSONValue = value.arrayValue == nil ? tagged[0] : .array(tagged)
        await process.send(Array(JSONWriter.write(outgoing).utf8))
    }

    /// A request whose only tag is its top-level id (no progress token), tagged in its bytes
    /// without reading it: the common case, a session's request under the pipeline's own id.
    /// `nil` for anything else, which ``tag(_:from:)`` tags once read. The pipeline sends only
    /// messages it has read, so `message` is valid JSON with at most one top-level `id`.
    static func requestTaggedInPlace(_ message: [UInt8], from member: Int) -> [UInt8]? {
        let envelope = EnvelopeScanner.envelope(of: message)
        guard !envelope.isBatch, envelope.hasMethod, envelope.methods.count == 1, envelope.methods[0] != "initialize",
            let id = envelope.id, !mentionsProgressTokenOrEscapes(message), let range = MessageID.valueRange(ofTopLevelID: message)
        else { return nil }
        return MessageID.replacing(range, in: message, with: Array(JSONWriter.write(SharedID.tag(id, member: member)).utf8))
    }

    /// Whether `message` has the bytes `progressToken`, or a `\u` escape (which could spell a
    /// key such as `progressToken` another way), anywhere.
    private static func mentionsProgressTokenOrEscapes(_ message: [UInt8]) -> Bool {
        message.withUnsafeBufferPointer { bytes in
            guard bytes.count > 1 else { return false }
            for start in 0..<(bytes.count - 1) {
                if bytes[start] == UInt8(ascii: "\\") && bytes[start + 1] == UInt8(ascii: "u") { return true }
                if bytes[start] == progressToken[0], start + progressToken.count <= bytes.count,
                    progressToken.indices.allSatisfy({ bytes[start + $0] == progressToken[$0] })
                {
                    return true
                }
            }
            return false
        }
    }

    private static let progressToken = Array("progressToken".utf8)

    /// One client message as the shared server gets it: ids and progress tokens tagged with
    /// the session; `nil` for what does not go to the server (the session's handshake,
    /// answers to requests the server never sent this session).
    private func tag(_ message: JSONValue, from member: Int) -> JSONValue? {
        guard case .object(var object) = message else { return nil }
        let method = object["method"]?.stringValue
        switch (method, object["id"]) {
        case ("initialize"?, let id?):
            answerInitialize(id: id, request: object, member: member)
            return nil
        case ("notifications/initialized"?, nil):
            return nil
        case (nil, _):
            return nil
        case (_, let id?):
            object.set("id", to: SharedID.tag(id, member: member))
            if case .object(var params)? = object["params"], case .object(var meta)? = params["_meta"], let token = meta["progressToken"] {
                meta.set("progressToken", to: SharedID.tag(token, member: member))
                params.set("_meta", to: .object(meta))
                object.set("params", to: .object(params))
            }
        case ("notifications/cancelled"?, nil):
            if case .object(var params)? = object["params"], let id = params["requestId"] {
                params.set("requestId", to: SharedID.tag(id, member: member))
                object.set("params", to: .object(params))
            }
        default:
            break
        }
        return .object(object)
    }

    /// Answers a session's `initialize` with the server's result, in the protocol version the
    /// session asked for when the server speaks it or a later one.
    private func answerInitialize(id: JSONValue, request: JSONObject, member: Int) {
        let (initialized, target) = state.withLock { ($0.initialized, $0.members[member]) }
        guard let target, case .object(var result)? = initialized else { return }
        if let asked = request["params"]?["protocolVersion"]?.stringValue, let spoken = result["protocolVersion"]?.stringValue,
            asked < spoken, ProtocolVersions.withHandshake.contains(asked)
        {
            result.set("protocolVersion", to: .string(asked))
        }
        let answer: JSONValue = ["jsonrpc": "2.0", "id": id, "result": .object(result)]
        target.upstream.mailbox.deliver(Array(JSONWriter.write(answer).utf8), read: answer)
    }

    // MARK: - Server to clients

    private func handleServerLine(_ line: LineFramer.Line, process: ServerProcess) async {
        switch line {
        case .message(let bytes):
            guard let value = try? JSONReader.parse(bytes, configuration: .init(maxDepth: configuration.maxDepth)) else {
                logger.warning("dropped a line from the shared server that is not acceptable JSON")
                return
            }
            if case .array(let elements) = value {
                for element in elements { await handleServerMessage(element, bytes: nil, process: process) }
            } else {
                await handleServerMessage(value, bytes: bytes, process: process)
            }
        case .tooLong(let envelope):
            logger.warning("dropped a shared server message over the size limit", metadata: ["bytes": "\(envelope.length)"])
            guard let id = envelope.id, !envelope.hasMethod, let (member, original) = SharedID.untag(id) else { return }
            deliver(JSONRPCError.response(
                id: original, code: JSONRPCError.internalError,
                message: "The server's answer was \(envelope.length) bytes, over Warden's limit of \(configuration.maxMessageBytes)"), to: member)
        }
    }

    /// Routes one message of the server, read; `bytes` are its own (`nil` for a batch's element).
    /// A session gets the message's bytes and what they hold, so that it does not read them again.
    private func handleServerMessage(_ message: JSONValue, bytes: [UInt8]?, process: ServerProcess) async {
        guard case .object(var object) = message else { return }
        let method = object["method"]?.stringValue
        switch (method, object["id"]) {
        case (nil, .string(Self.handshakeID)?):
            state.withLock { $0.handshake.take() }?.resume(returning: object)
        case (nil, let id?):
            guard let (member, original) = SharedID.untag(id) else { return }
            object.set("id", to: original)
            let untagged = bytes.flatMap { bytes in
                MessageID.valueRange(ofTopLevelID: bytes).map { MessageID.replacing($0, in: bytes, with: Array(JSONWriter.write(original).utf8)) }
            }
            deliver(untagged ?? Self.encode(object), read: .object(object), to: member)
        case ("ping"?, let id?):
            await process.send(Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": [:]]).utf8))
        case (_?, let id?):
            await process.send(JSONRPCError.response(
                id: id, code: JSONRPCError.methodNotFound,
                message: "Method not found: Warden shares this server between sessions and cannot route its requests to one client"))
        case ("notifications/progress"?, nil):
            guard case .object(var params)? = object["params"], let token = params["progressToken"],
                let (member, original) = SharedID.untag(token)
            else { return }
            params.set("progressToken", to: original)
            object.set("params", to: .object(params))
            deliver(Self.encode(object), read: .object(object), to: member)
        default:
            let bytes = bytes ?? Self.encode(object)
            for member in state.withLock({ Array($0.members.keys) }) { deliver(bytes, read: message, to: member) }
        }
    }

    private func deliver(_ message: [UInt8], read value: JSONValue? = nil, to member: Int) {
        state.withLock { $0.members[member] }?.upstream.mailbox.deliver(message, read: value)
    }

    private static func encode(_ object: JSONObject) -> [UInt8] {
        Array(JSONWriter.write(.object(object)).utf8)
    }
}

/// A session's way to its ``SharedServer``: what it sends is tagged and sent to the shared
/// process; the messages for it come back on ``messages``.
final class SharedUpstream: Upstream {
    /// Why a session's messages from the shared process ended.
    enum Ending: Sendable {
        /// The session detached itself.
        case detached
        /// The process exited (with this status), or never started (`nil`).
        case serverExited(Int32?)
    }

    let member: Int
    /// Where the shared process's messages for this session go.
    let mailbox: UpstreamMailbox
    private let server: SharedServer
    private let ended = Mutex<Ending?>(nil)

    init(member: Int, server: SharedServer, serverName: String) {
        self.member = member
        self.server = server
        self.mailbox = UpstreamMailbox(serverName: serverName)
    }

    var messages: MessageQueue { mailbox.messages }

    func send(_ message: [UInt8]) async {
        await server.send(message, from: member)
    }

    /// Ends the session's messages (the first reason given is kept).
    func end(_ reason: Ending) {
        ended.withLock { $0 = $0 ?? reason }
        mailbox.finish()
    }

    /// Why the messages ended; `nil` while they go on.
    var ending: Ending? { ended.withLock { $0 } }

    /// The session ends; the shared process goes on.
    func stop() {
        server.detach(member)
    }

    var isFinished: Bool { !server.isAttached(member) }
}

/// The ids (and progress tokens) of a shared server's sessions: `w<session>.<original as JSON>`.
enum SharedID {
    static func tag(_ id: JSONValue, member: Int) -> JSONValue {
        .string("w\(member).\(JSONWriter.write(id))")
    }

    /// The session and the original id of a tagged one; `nil` for any other.
    static func untag(_ id: JSONValue) -> (member: Int, original: JSONValue)? {
        guard case .string(let text) = id, text.hasPrefix("w"), let dot = text.firstIndex(of: "."),
            let member = Int(text[text.index(after: text.startIndex)..<dot]),
            let original = try? JSONReader.parse(String(text[text.index(after: dot)...]))
        else { return nil }
        return (member, original)
    }
}

extension Optional {
    /// The value, leaving `nil` behind.
    fileprivate mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
