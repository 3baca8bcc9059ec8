import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

/// One MCP session of the HTTP gateway, in front of a stdio server of its own.
///
/// The policing is the session pipeline's: the session feeds it the client's messages (one
/// at a time, in order, see ``InboundQueue``) and receives what it sends to the client.
/// Answers go to the POST that carried their request; everything else the server sends
/// (requests, notifications) goes to the session's GET stream, or waits there for one to open.
final class HTTPSession: MessageSink {
    /// The `Mcp-Session-Id`: 256 random bits, hex.
    let id: String
    /// Who opened the session; only they may use it.
    let owner: String
    /// The server it fronts.
    let serverName: String
    /// Whether answers go on the stream too (the legacy HTTP+SSE transport) rather than to
    /// the POSTs that carried their requests (Streamable HTTP).
    let answersOnStream: Bool
    /// Whether the server's own requests can reach a client. Without (sessions serving
    /// stateless requests), they are refused at once and its notifications dropped.
    let hasBackChannel: Bool
    let logger: Logger
    /// Where requests and notifications from the server go.
    let stream: ClientStream
    private let inbound = InboundQueue()
    private let state = Mutex(State())

    private struct State {
        var gateway: SessionPipeline?
        var upstream: (any Upstream)?
        var waiting: [RequestKey: ResponseSlot] = [:]
        /// Calls whose callers were asked something (stateless revision), by the
        /// `requestState` their retries carry.
        var parked: [String: Parked] = [:]
        var sweeper: Task<Void, Never>?
        var closed = false
        var lastUsed = ContinuousClock.now
    }

    init(id: String, owner: String, serverName: String, answersOnStream: Bool = false, hasBackChannel: Bool = true, logger: Logger) {
        self.id = id
        self.owner = owner
        self.serverName = serverName
        self.answersOnStream = answersOnStream
        self.hasBackChannel = hasBackChannel
        self.logger = logger
        self.stream = ClientStream(logger: logger)
        let sweeper = startSweeping()
        state.withLock { $0.sweeper = sweeper }
    }

    /// Starts the server behind a gateway built by `makeGateway` (which gets this session as
    /// its client); `ended` runs once the server has exited.
    func start(
        command: [String],
        environment: [String: String],
        makeGateway: (HTTPSession) -> SessionPipeline,
        ended: @escaping @Sendable (HTTPSession, Int32) -> Void
    ) throws {
        let gateway = makeGateway(self)
        let server = try gateway.launch(command, environment: environment)
        state.withLock {
            $0.gateway = gateway
            $0.upstream = server
        }
        Task {
            let status = await gateway.serve(server)
            self.close()
            ended(self, status)
        }
    }

    /// Joins the shared process of a stdio server, behind a gateway built by `makeGateway`;
    /// `ended` runs if the process exits (or cannot start) while the session lasts.
    func startShared(
        _ shared: SharedServer, makeGateway: (HTTPSession) -> SessionPipeline, ended: @escaping @Sendable (HTTPSession, Int32?) -> Void
    ) {
        let gateway = makeGateway(self)
        let upstream = shared.attach()
        state.withLock {
            $0.gateway = gateway
            $0.upstream = upstream
        }
        Task {
            await gateway.relay(from: upstream)
            guard case .serverExited(let status)? = upstream.ending else { return }
            self.close()
            ended(self, status)
        }
    }

    /// Connects to a remote server behind a gateway built by `makeGateway`. The session lasts
    /// until the client ends it (or the gateway shuts down).
    func startRemote(_ remote: RemoteUpstream.Configuration, legacySSE: Bool, makeGateway: (HTTPSession) -> SessionPipeline) {
        let gateway = makeGateway(self)
        let deadlines: @Sendable (JSONValue) -> ContinuousClock.Instant? = { [weak gateway] id in gateway?.clientDeadline(ofForwarded: id) }
        let upstream: any Upstream =
            legacySSE
            ? LegacySSEUpstream(configuration: remote, logger: logger)
            : RemoteUpstream(configuration: remote, deadlines: deadlines, logger: logger)
        state.withLock {
            $0.gateway = gateway
            $0.upstream = upstream
        }
        Task { await gateway.relay(from: upstream) }
    }

    // MARK: - Client to server

    /// Sends the client's messages, in order (no answer expected: notifications and responses),
    /// behind every message handed over before. The elements of a client's batch are sent one
    /// by one, so that servers without batch support serve them too; the HTTP response
    /// gathers their answers.
    /// `parsed`, when given, holds what each message is, read already (a POST's body): it is
    /// not read again.
    func send(_ messages: [[UInt8]], parsed: [JSONValue]? = nil, httpRequest: String? = nil) {
        guard let work = handOver(messages, parsed: parsed, httpRequest: httpRequest) else { return }
        inbound.enqueue(work)
    }

    /// The pipeline's handling of `messages`, in order; `nil` once the session has ended.
    private func handOver(_ messages: [[UInt8]], parsed: [JSONValue]?, httpRequest: String?) -> InboundQueue.Work? {
        let target = state.withLock { state in
            state.lastUsed = .now
            return state.closed ? nil : (state.gateway, state.upstream)
        }
        guard let (gateway, server) = target, let gateway, let server else { return nil }
        if let parsed {
            return {
                for (value, message) in zip(parsed, messages) {
                    await gateway.handleClientMessage(value, bytes: message, server: server, httpRequest: httpRequest)
                }
            }
        }
        return {
            for message in messages { await gateway.handleClientLine(.message(message), server: server, httpRequest: httpRequest) }
        }
    }

    /// Sends the client's messages and waits for the answers to `requests`, at most `timeout`.
    /// Requests the server does not answer in time, or that the session could not send, get
    /// a JSON-RPC error instead.
    func exchange(
        _ messages: [[UInt8]], parsed: [JSONValue]? = nil, requests: [(key: RequestKey, id: JSONValue)], timeout: Duration,
        httpRequest: String? = nil
    ) async -> [[UInt8]] {
        switch await start(messages, parsed: parsed, requests: requests, whenHeld: .waits, timeout: timeout, httpRequest: httpRequest) {
        case .refused(let answers): return answers
        case .registered(let slots):
            var answers: [[UInt8]] = []
            for slot in slots { answers.append(await slot.value()) }
            return answers
        }
    }

    /// ``exchange(_:requests:timeout:httpRequest:)`` for a POST that takes an event stream:
    /// for each request, what comes first, its answer or, for a call held for approval, the
    /// stream of the messages about it, ending with its answer.
    func exchangeStreaming(
        _ messages: [[UInt8]], parsed: [JSONValue]? = nil, requests: [(key: RequestKey, id: JSONValue)], timeout: Duration,
        httpRequest: String? = nil
    ) async -> [ResponseSlot.Outcome] {
        switch await start(messages, parsed: parsed, requests: requests, whenHeld: .streams, timeout: timeout, httpRequest: httpRequest) {
        case .refused(let answers): return answers.map(ResponseSlot.Outcome.answer)
        case .registered(let slots):
            var outcomes: [ResponseSlot.Outcome] = []
            for slot in slots { outcomes.append(await slot.outcome()) }
            return outcomes
        }
    }

    /// Registers `requests` and sends `messages` (in the caller's task when nothing else is
    /// being handed over): the slots where the answers will arrive, or the answers refusing
    /// the requests (nothing is sent then).
    private func start(
        _ messages: [[UInt8]], parsed: [JSONValue]? = nil, requests: [(key: RequestKey, id: JSONValue)], whenHeld: ResponseSlot.WhenHeld,
        timeout: Duration, httpRequest: String?
    ) async -> Registration {
        let registration = register(requests, timeout: timeout, whenHeld: whenHeld)
        if case .registered = registration, let work = handOver(messages, parsed: parsed, httpRequest: httpRequest) { await inbound.run(work) }
        return registration
    }

    /// Sends one request and waits for what comes first: its answer, or, for a call held for
    /// approval, what `whenHeld` asks for: a stream of the messages about it (progress,
    /// questions for the user) ending with its answer (the POST's own event stream), or the
    /// approval to ask the caller about (the answer is then kept for ``collect(_:)``); and
    /// the slot where what follows arrives.
    /// `parsed`, when given, is the message as read already: it is not read again.
    func exchange(
        _ message: [UInt8], parsed: JSONValue? = nil, request: (key: RequestKey, id: JSONValue), whenHeld: ResponseSlot.WhenHeld,
        timeout: Duration, httpRequest: String? = nil
    ) async -> (outcome: ResponseSlot.Outcome, slot: ResponseSlot?) {
        switch await start(
            [message], parsed: parsed.map { [$0] }, requests: [request], whenHeld: whenHeld, timeout: timeout, httpRequest: httpRequest)
        {
        case .refused(let answers): return (.answer(answers[0]), nil)
        case .registered(let slots): return (await slots[0].outcome(), slots[0])
        }
    }

    /// A call waiting for its caller's answer to an `input_required` round.
    struct Parked {
        /// What the caller was asked.
        enum Question {
            /// To approve the call: the approval's id.
            case approval(String)
            /// The server's own request (sampling, elicitation, roots): its id.
            case serverRequest(JSONValue)
        }

        let slot: ResponseSlot
        let question: Question
    }

    /// Keeps the slot of a call whose caller is being asked `question` under `handle` (a fresh,
    /// unguessable id: the `requestState` their retry brings back), and returns it.
    /// The call's deadline moves `postponing` later: time for a person to answer.
    func park(_ slot: ResponseSlot, question: Parked.Question, postponing: Duration, handle: String) -> String {
        slot.postpone(by: postponing)
        state.withLock { $0.parked[handle] = Parked(slot: slot, question: question) }
        return handle
    }

    /// The parked call `handle` names, taken out; `nil` for an unknown (or already collected) handle.
    func collect(_ handle: String) -> Parked? {
        state.withLock { $0.parked.removeValue(forKey: handle) }
    }

    private enum Registration {
        case registered([ResponseSlot])
        case refused([[UInt8]])
    }

    /// Makes a slot for each request's answer, unless the session has ended or one of the ids is in use.
    private func register(
        _ requests: [(key: RequestKey, id: JSONValue)], timeout: Duration, whenHeld: ResponseSlot.WhenHeld
    ) -> Registration {
        let deadline = ContinuousClock.now + timeout
        let slots = requests.map { ResponseSlot(id: $0.id, deadline: deadline, whenHeld: whenHeld) }
        let refused = state.withLock { state -> String? in
            if state.closed { return "The session has ended" }
            if let duplicate = requests.first(where: { state.waiting[$0.key] != nil }) {
                return JSONRPCError.Refusal.requestInProgress(duplicate.key)
            }
            for (request, slot) in zip(requests, slots) { state.waiting[request.key] = slot }
            return nil
        }
        guard let refused else { return .registered(slots) }
        return .refused(requests.map { JSONRPCError.response(id: $0.id, code: JSONRPCError.invalidRequest, message: refused) })
    }

    /// The `Mcp-Param-*` headers calls to tool `name` must carry (`nil`: no such tool).
    func headerParameters(ofTool name: String) async -> [MCPParamHeaders.Declaration]? {
        let (gateway, upstream) = state.withLock { ($0.gateway, $0.upstream) }
        guard let gateway, let upstream else { return nil }
        return await gateway.headerParameters(ofTool: name, server: upstream)
    }

    /// The tools the session's server advertised so far.
    var knownToolNames: [String] {
        state.withLock { $0.gateway }?.knownToolNames ?? []
    }

    /// A call held for approval may wait `duration` longer than the upstream timeout; a POST
    /// that takes an event stream gets one now, for the messages about the call.
    func holding(_ id: JSONValue, for duration: Duration) {
        guard let slot = state.withLock({ $0.waiting[RequestKey(id)] }) else { return }
        slot.postpone(by: duration)
        slot.hold()
    }

    /// Cancels the session's calls held for approval: their clients are told `reason`.
    func cancelHeldCalls(because reason: String) async {
        await state.withLock { $0.gateway }?.cancelHeldCalls(because: reason)
    }

    /// Answers every request whose deadline has passed with a timeout error. Run by the
    /// session's sweeper each second: one timer per session rather than one per request
    /// (a cancelled `Task.sleep` keeps its timer's memory until the deadline).
    private func expireOverdue(now: ContinuousClock.Instant = .now) async {
        var unanswered: [JSONValue] = []
        let overdue = state.withLock { state -> [ResponseSlot] in
            // Asked callers that never came back: their calls were answered or expired long since.
            let abandoned = state.parked.filter { $0.value.slot.deadline <= now }
            for handle in abandoned.keys { state.parked.removeValue(forKey: handle) }
            unanswered = abandoned.values.compactMap { parked in
                if case .serverRequest(let id) = parked.question { id } else { nil }
            }
            let overdue = state.waiting.filter { $0.value.deadline <= now }
            for key in overdue.keys { state.waiting.removeValue(forKey: key) }
            return Array(overdue.values)
        }
        // The server still waits for what it asked callers who never came back, or were never asked.
        for id in unanswered {
            send([JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: "The caller did not answer in time")])
        }
        for slot in overdue { refuse(slot.takeUnaskedRequests(), because: "The caller did not answer in time") }
        let (gateway, upstream) = state.withLock { ($0.gateway, $0.upstream) }
        for slot in overdue {
            if let gateway, let upstream { await gateway.stopWaiting(for: slot.id, because: "timed out", server: upstream) }
            slot.deliver(JSONRPCError.response(
                id: slot.id, code: JSONRPCError.internalError, message: "The server \(serverName) did not answer in time"))
        }
    }

    private func startSweeping() -> Task<Void, Never> {
        Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self, !self.isClosed else { return }
                await self.expireOverdue()
            }
        }
    }

    // MARK: - Server to client

    func deadline(of id: JSONValue) -> ContinuousClock.Instant? {
        state.withLock { $0.waiting[RequestKey(id)] }?.deadline
    }

    /// A held request waits for `approval`: a POST asking its caller can answer now.
    func awaitingDecision(_ id: JSONValue, approval: Approval) {
        state.withLock { $0.waiting[RequestKey(id)] }?.awaitCaller(approval)
    }

    /// A request the client cancelled: its POST is answered with -32800 (an HTTP request
    /// cannot go unanswered), or its event stream ends with it.
    func abandon(_ id: JSONValue) {
        let slot = state.withLock { $0.waiting.removeValue(forKey: RequestKey(id)) }
        slot?.deliver(JSONRPCError.response(id: id, code: JSONRPCError.requestCancelled, message: "Request cancelled by the client"))
    }

    /// A message about request `id` goes on that request's own event stream if it has one.
    @discardableResult
    func write(_ message: [UInt8], about id: JSONValue) -> Bool {
        if let slot = state.withLock({ $0.waiting[RequestKey(id)] }), slot.relate(message) { return true }
        return write(message)
    }

    /// What the gateway sends the client: answers to their POSTs, the rest to the stream.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool {
        if answersOnStream { return stream.push(message) }
        let envelope = EnvelopeScanner.envelope(of: message)
        if envelope.isBatch, case .array(let elements)? = try? JSONReader.parse(message) {
            for element in elements { _ = write(Array(JSONWriter.write(element).utf8)) }
            return true
        }
        if let id = envelope.id, !envelope.hasMethod { return answer(message, to: id, key: RequestKey(id)) }
        guard hasBackChannel else {
            askStatelessCaller(message, envelope: envelope)
            return true
        }
        return stream.push(message)
    }

    /// An answer goes to the POST that carried its request.
    @discardableResult
    func answer(_ message: [UInt8], to id: JSONValue, key: RequestKey) -> Bool {
        if answersOnStream { return stream.push(message) }
        if let slot = state.withLock({ $0.waiting.removeValue(forKey: key) }) {
            slot.deliver(message)
            refuse(slot.takeUnaskedRequests(), because: "The call was answered before its caller was asked")
        } else {
            logger.debug("dropped an answer no request is waiting for", metadata: ["id": "\(key.text)"])
        }
        return true
    }

    /// A session serving stateless requests has no stream to send the server's requests on:
    /// one goes to the call in progress, whose caller is asked in an `input_required` result,
    /// when exactly one such call is in progress; `ping` is answered here; anything else is
    /// refused, and notifications are dropped.
    private func askStatelessCaller(_ message: [UInt8], envelope: MessageEnvelope) {
        guard let id = envelope.id else { return }
        if (try? JSONReader.parse(message))?["method"] == "ping" {
            send([Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": [:]]).utf8)])
            return
        }
        // The call in progress; a call whose caller was asked and has not come back yet only
        // when there is no other (it may be a caller who gave up).
        let asking = state.withLock { state -> [ResponseSlot] in
            let parked = Set(state.parked.values.map { ObjectIdentifier($0.slot) })
            let all = state.waiting.values.filter { $0.whenHeld == .asksCaller }
            let running = all.filter { !parked.contains(ObjectIdentifier($0)) }
            return running.isEmpty ? all : running
        }
        if asking.count == 1, asking[0].ask(message) { return }
        send([JSONRPCError.response(
            id: id, code: JSONRPCError.methodNotFound,
            message: "Method not found: Warden serves this session to stateless requests, and can ask a caller only while exactly one of their calls is in progress")])
    }

    /// Answers the server's requests that no caller will be asked, with an error.
    private func refuse(_ requests: [[UInt8]], because reason: String) {
        for request in requests {
            guard let id = EnvelopeScanner.envelope(of: request).id else { continue }
            send([JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: reason)])
        }
    }

    // MARK: - Ending

    /// Ends the session: the upstream is stopped (a process's stdin is closed, a remote
    /// session deleted), the stream ends, and every request still waiting gets an error.
    func close() {
        let (upstream, gateway, waiting, sweeper) = state.withLock { state in
            defer {
                state.closed = true
                state.waiting.removeAll()
                state.sweeper = nil
            }
            return (state.closed ? nil : state.upstream, state.closed ? nil : state.gateway, state.waiting, state.sweeper)
        }
        if let gateway { gateway.ledger.endSession(gateway.configuration.session) }
        sweeper?.cancel()
        stream.end()
        for (key, slot) in waiting {
            slot.deliver(JSONRPCError.response(
                id: (try? JSONReader.parse(key.text)) ?? .null, code: JSONRPCError.internalError,
                message: "The session with \(serverName) ended before this request was answered"))
        }
        upstream?.stop()
    }

    /// Whether the upstream is done (the process exited, the remote session ended).
    var isFinished: Bool { state.withLock(\.upstream)?.isFinished ?? true }

    var isClosed: Bool { state.withLock(\.closed) }

    /// Whether nothing has used the session for `timeout`: no message from the client, no
    /// request waiting for its answer, no stream open.
    func isIdle(for timeout: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        guard !stream.isOpen else { return false }
        return state.withLock { $0.waiting.isEmpty && now - $0.lastUsed > timeout }
    }
}
