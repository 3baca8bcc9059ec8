public import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
public import WardenPolicy
import WardenStore

/// One MCP session between a client and a server, whatever carries it (`warden run`'s stdio,
/// an HTTP session, a shared process, a remote server): every `tools/call` is decided here
/// before it reaches the server.
///
/// Messages Warden does not change are forwarded byte for byte. `tools/list` results lose
/// the tools the policy hides. Everything else (resources, prompts, notifications, requests
/// from the server) passes through unchanged.
public final class SessionPipeline: Sendable {
    /// How the gateway runs.
    public struct Configuration: Sendable {
        /// The server's name, for policies (`server`) and the audit log.
        public var serverName: String
        /// Who the client is.
        public var identity: Identity
        /// The session id; random by default.
        public var session: String
        /// The longest message accepted from either side, in bytes. The default is 4 MiB.
        public var maxMessageBytes: Int
        /// The deepest JSON nesting accepted. The default is 64.
        public var maxDepth: Int
        /// Where calls that need approval are held; without, they are refused.
        public var approvals: ApprovalDesk?
        /// Whether audit records keep the arguments' values, with these redacted; without,
        /// only their keys and hash.
        public var auditedArguments: ArgumentRedaction?
        /// Whether the transport asks the caller about their held calls itself (the stateless
        /// revision's `input_required` results) rather than the gateway (`elicitation/create`).
        var callerAskedByTransport = false
        /// Pins and poisoning checks on the server's tool definitions; `nil` for none.
        public var definitionGuard: ToolDefinitionGuard?

        public init(
            serverName: String,
            identity: Identity = .local,
            session: String = UUID().uuidString.lowercased(),
            maxMessageBytes: Int = 4 * 1024 * 1024,
            maxDepth: Int = 64,
            approvals: ApprovalDesk? = nil,
            auditedArguments: ArgumentRedaction? = nil
        ) {
            self.serverName = serverName
            self.identity = identity
            self.session = session
            self.maxMessageBytes = maxMessageBytes
            self.maxDepth = maxDepth
            self.approvals = approvals
            self.auditedArguments = auditedArguments
        }
    }

    public let configuration: Configuration
    let policy: PolicyFile
    let ledger: any CounterLedger
    let audit: AuditWriter
    let logger: Logger
    let state = Mutex(SessionState())
    let client: any MessageSink
    let metrics: GatewayMetrics?

    /// - Parameters:
    ///   - configuration: How to run.
    ///   - policy: The policy in force.
    ///   - ledger: Where limits are counted.
    ///   - audit: Where decisions are recorded.
    ///   - logger: Warden's own log (stderr).
    ///   - client: Where messages to the client go.
    ///   - metrics: Where decisions are counted (`warden serve`'s metrics).
    init(
        configuration: Configuration,
        policy: PolicyFile,
        ledger: any CounterLedger,
        audit: AuditWriter,
        logger: Logger,
        client: any MessageSink,
        metrics: GatewayMetrics? = nil
    ) {
        self.configuration = configuration
        self.policy = policy
        self.ledger = ledger
        self.audit = audit
        self.logger = logger
        self.client = client
        self.metrics = metrics
    }

    /// Records a decision in the audit log (and the metrics, when served over HTTP).
    func log(_ record: consuming AuditRecord) {
        metrics?.observe(record)
        audit.record(record)
    }

    // MARK: - Client to server

    /// Polices one message from the client and sends on, answers or holds it. The transport
    /// hands messages over one at a time, in order; `httpRequest` names the HTTP request that
    /// carried the line (`warden serve`), for the audit log.
    func handleClientLine(_ line: LineFramer.Line, server: any Upstream, httpRequest: String? = nil) async {
        guard case .message(let bytes) = line else {
            if case .tooLong(let message) = line {
                logger.warning("refused a client message over the size limit", metadata: ["bytes": "\(message.length)"])
                let reason = "the message is \(message.length) bytes, over the limit of \(configuration.maxMessageBytes)"
                auditRefusedCall(message, because: reason, httpRequest: httpRequest)
                client.write(JSONRPCError.response(id: message.id, code: JSONRPCError.invalidRequest, message: "Invalid Request: \(reason)"))
            }
            return
        }
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes, configuration: .init(maxDepth: configuration.maxDepth))
        } catch {
            let refusal = UnreadableMessage(error)
            logger.warning("refused a client message", metadata: ["reason": "\(error)"])
            let envelope = EnvelopeScanner.envelope(of: bytes)
            auditRefusedCall(envelope, because: "\(error)", httpRequest: httpRequest)
            client.write(JSONRPCError.response(id: refusal.hasReadableID ? envelope.id : nil, code: refusal.code, message: refusal.message))
            return
        }
        await handleClientMessage(value, bytes: bytes, server: server, httpRequest: httpRequest)
    }

    /// ``handleClientLine(_:server:httpRequest:)`` for a message the transport has already
    /// read (an HTTP POST's body): `value` is what `bytes` holds.
    func handleClientMessage(_ value: JSONValue, bytes: [UInt8], server: any Upstream, httpRequest: String? = nil) async {
        if case .array(let elements) = value {
            await handleClientBatch(elements, bytes: bytes, server: server, httpRequest: httpRequest)
            return
        }
        switch await route(value, bytes: bytes, server: server, httpRequest: httpRequest) {
        case .forward(let message): await server.send(message)
        case .respond(let response): client.write(response)
        case .hold(let held): hold(held, message: bytes, server: server)
        case .drop: break
        }
    }

    /// Audits a `tools/call` refused before it could be read (see ``AuditRecord/refusedCall``).
    func auditRefusedCall(_ envelope: MessageEnvelope, because reason: String, httpRequest: String?) {
        guard let record = AuditRecord.refusedCall(
            envelope, because: reason, identity: configuration.identity, session: configuration.session,
            server: configuration.serverName, policyHash: policy.current.hash, httpRequest: httpRequest)
        else { return }
        log(record)
    }

    /// What to do with one client message.
    enum Route {
        /// Send these bytes to the server: the original message, or (a request) the original
        /// under Warden's own id.
        case forward([UInt8])
        /// Answer the client with these bytes instead.
        case respond([UInt8])
        /// Neither forward nor answer.
        case drop
        /// Hold the call until a person decides; forward it if they approve.
        case hold(HeldCall)
    }

    /// Polices one client message (an object), whose bytes are `bytes` (`nil` for an element
    /// of a batch). A `tools/call` waits here for its decision, so the messages after it keep
    /// their order.
    func route(_ value: JSONValue, bytes: [UInt8]?, server: any Upstream, httpRequest: String? = nil) async -> Route {
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(value)
        } catch {
            return .respond(JSONRPCError.response(id: error.id, code: JSONRPCError.invalidRequest, message: "Invalid Request: \(error)"))
        }
        switch message {
        case .request(let id, let method, let body):
            return await route(request: id, method: method, body: body, bytes: bytes, server: server, httpRequest: httpRequest)
        case .notification("notifications/cancelled", let body):
            return clientCancelled(body)
        case .response(let id, let body):
            guard let own = state.withLock({ $0.ownClientRequests.removeValue(forKey: RequestKey(id)) }) else {
                return .forward(bytes ?? Array(JSONWriter.write(value).utf8))
            }
            own.resume(returning: body)
            return .drop
        case .notification("tools/call", _):
            // Without an id there is nothing to answer, and a server that ran it would run an
            // unpoliced tool: it goes nowhere.
            logger.warning("dropped a tools/call sent as a notification (no id): it cannot be policed or answered")
            return .drop
        case .notification:
            return .forward(bytes ?? Array(JSONWriter.write(value).utf8))
        }
    }

    /// Polices one client request; one repeating the id of a request still in progress is refused.
    private func route(
        request id: JSONValue, method: String, body: JSONObject, bytes: [UInt8]?, server: any Upstream, httpRequest: String?
    ) async -> Route {
        let key = RequestKey(id)
        if state.withLock({ $0.isInProgress(key) }) {
            return .respond(JSONRPCError.requestInProgress(id: id, key: key))
        }
        switch method {
        case "tools/call":
            return await policeToolCall(id: id, key: key, body: body, bytes: bytes, server: server, httpRequest: httpRequest)
        case "tools/list":
            return forward(id: id, key: key, body: body, bytes: bytes, purpose: .toolList(firstPage: body["params"]?["cursor"] == nil))
        case "initialize":
            let elicits = body["params"]?["capabilities"]?["elicitation"] != nil
            state.withLock { $0.clientElicits = elicits }
            return forward(id: id, key: key, body: body, bytes: bytes, purpose: .other)
        default:
            return forward(id: id, key: key, body: body, bytes: bytes, purpose: .other)
        }
    }

    /// Sends the client's request `id` on to the server under an id of Warden's own, which
    /// its answer comes back with (see ``SessionState/forwarded``): the original bytes with
    /// only the id replaced, or, for a batch element, the element re-encoded. Once the server
    /// has exited, the request is answered with an error instead.
    func forward(
        id: JSONValue, key: RequestKey, body: JSONObject, bytes: [UInt8]?, purpose: SessionState.ForwardedRequest.Purpose
    ) -> Route {
        let range = bytes.flatMap(MessageID.valueRange(ofTopLevelID:))
        let clientIDText = bytes.flatMap { bytes in range.map { Array(bytes[$0]) } } ?? Array(JSONWriter.write(id).utf8)
        let upstreamID = state.withLock { state -> Int? in
            guard !state.serverGone else { return nil }
            return state.remember(.init(client: .init(value: id, text: clientIDText, key: key), purpose: purpose))
        }
        guard let upstreamID else {
            return .respond(JSONRPCError.response(
                id: id, code: JSONRPCError.internalError, message: "The server \(configuration.serverName) has exited"))
        }
        if let bytes, let range {
            return .forward(MessageID.replacing(range, in: bytes, with: Array(String(upstreamID).utf8)))
        }
        var renamed = body
        renamed.set("id", to: .number(JSONNumber(upstreamID)))
        return .forward(Array(JSONWriter.write(.object(renamed)).utf8))
    }

    /// The client's `notifications/cancelled`: a held call stops waiting (the server never
    /// saw it); a forwarded request's cancellation goes to the server under Warden's id; one
    /// for a request that is not in progress is dropped (its id may be Warden's id of another).
    func clientCancelled(_ body: JSONObject) -> Route {
        guard case .object(var params)? = body["params"], let requestID = params["requestId"] else { return .drop }
        let key = RequestKey(requestID)
        if cancelHeldCall(key) { return .drop }
        guard let upstreamID = forgetForwarded(key, status: "cancelled by the client") else { return .drop }
        // A transport still waiting to answer it (an HTTP POST) lets go.
        client.abandon(requestID)
        params.set("requestId", to: .number(JSONNumber(upstreamID)))
        var renamed = body
        renamed.set("params", to: .object(params))
        return .forward(Array(JSONWriter.write(.object(renamed)).utf8))
    }

    /// Nobody waits any more for the answer to the client's request `id` (its HTTP request
    /// timed out): the server is asked to cancel it, and a call's audit entry says `status`
    /// (its counts stay counted: the server may have run it). A late answer is dropped.
    func stopWaiting(for id: JSONValue, because status: String, server: any Upstream) async {
        guard let upstreamID = forgetForwarded(RequestKey(id), status: status), !state.withLock(\.serverGone) else { return }
        let cancel: JSONValue = [
            "jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": ["requestId": .number(JSONNumber(upstreamID)), "reason": .string("the client stopped waiting (\(status))")],
        ]
        await server.send(Array(JSONWriter.write(cancel).utf8))
    }

    /// Takes the forwarded request the client's id `key` names out of those awaiting an answer,
    /// auditing a call with upstream status `status`; returns its Warden id.
    private func forgetForwarded(_ key: RequestKey, status: String) -> Int? {
        let taken = state.withLock { state -> (Int, SessionState.ForwardedRequest, [JSONValue])? in
            guard let upstreamID = state.forwardedIDs[key], let (request, held) = state.takeForwarded(upstreamID) else { return nil }
            return (upstreamID, request, held)
        }
        guard let (upstreamID, request, held) = taken else { return nil }
        if case .call(let call) = request.purpose {
            var record = call.record
            record.upstreamStatus = "no response (\(status))"
            log(record)
        }
        deliver(held)
        return upstreamID
    }

    /// A batch (JSON-RPC 2.0 arrays, protocol 2025-03-26): each element is policed on its own.
    /// Allowed elements go to the server as one batch, each request under Warden's own id; a
    /// request repeating an id of the batch is refused. Warden's own answers join the server's batch response, so the client gets
    /// one array with every answer; when no request went to the server, they are sent at once.
    func handleClientBatch(_ elements: [JSONValue], bytes: [UInt8], server: any Upstream, httpRequest: String?) async {
        guard !elements.isEmpty else {
            client.write(JSONRPCError.response(id: nil, code: JSONRPCError.invalidRequest, message: JSONRPCError.Refusal.emptyBatch))
            return
        }
        var forwarded: [[UInt8]] = []
        var forwardedIDs: [Int] = []
        var answers: [JSONValue] = []
        var seen: Set<RequestKey> = []
        for element in elements {
            if case .request(let id, _, _)? = try? JSONRPCMessage(element), !seen.insert(RequestKey(id)).inserted {
                answers.append(.object(JSONRPCError.object(
                    id: id, code: JSONRPCError.invalidRequest,
                    message: "Invalid Request: id \(RequestKey(id).text) repeats an earlier request of this batch")))
                continue
            }
            switch await route(element, bytes: nil, server: server, httpRequest: httpRequest) {
            case .forward(let message):
                forwarded.append(message)
                if element["method"] != nil, let id = element["id"], let upstreamID = state.withLock({ $0.forwardedIDs[RequestKey(id)] }) {
                    forwardedIDs.append(upstreamID)
                }
            case .respond(let response):
                if let answer = try? JSONReader.parse(response) { answers.append(answer) }
            case .hold(let held):
                // Answered on its own when decided, not in this batch's response.
                hold(held, message: Array(JSONWriter.write(element).utf8), server: server)
            case .drop: break
            }
        }
        if !answers.isEmpty && !forwardedIDs.isEmpty {
            let held = SessionState.HeldAnswers(answers)
            state.withLock { state in
                for id in forwardedIDs { state.heldBatchAnswers[id] = held }
            }
        } else if !answers.isEmpty {
            client.write(Array(JSONWriter.write(.array(answers)).utf8))
        }
        if !forwarded.isEmpty { await server.send(JSONRPCBatch.joining(forwarded)) }
    }
}
