import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

extension SessionPipeline {
    /// What to do with one server message.
    enum ServerRoute {
        /// Send the original bytes to the client.
        case forward
        /// Send the original bytes under the client's id: the answer to a forwarded request.
        case answer(SessionState.ClientRequestID)
        /// Send this answer instead (a filtered tools/list result), under the client's id.
        case replace(JSONValue, SessionState.ClientRequestID)
        /// Send nothing (an answer to Warden's own request, or a message that cannot be understood).
        case drop
    }

    /// Relays the server's messages to the client, one at a time and in order, as fast as the
    /// client takes them, until the server is gone; then answers every request still waiting.
    func relay(from server: any Upstream) async {
        for await message in server.messages {
            await client.waitUntilWritable()
            await handleServerLine(message.line, read: message.value, server: server)
        }
        await serverEnded()
    }

    /// Routes one message from the server: an answer to the request it answers (under the
    /// client's id), anything else to the client as it came. `read` is what the line holds when
    /// the upstream has read it already.
    func handleServerLine(_ line: LineFramer.Line, read: JSONValue? = nil, server: any Upstream) async {
        guard case .message(let bytes) = line else {
            if case .tooLong(let message) = line { await refuseOversize(message, server: server) }
            return
        }
        let value: JSONValue
        do {
            value = try read ?? JSONReader.parse(bytes, configuration: .init(maxDepth: configuration.maxDepth))
        } catch {
            logger.warning("dropped a line from the server that is not acceptable JSON", metadata: ["reason": "\(error)"])
            return
        }
        var held: [JSONValue] = []
        guard case .array(let elements) = value else {
            switch await route(serverMessage: value, held: &held, server: server) {
            case .forward: client.write(bytes)
            case .answer(let id): client.answer(Self.renamed(bytes, as: id) ?? Self.encode(value, as: id), to: id.value, key: id.key)
            case .replace(let replacement, let id): client.answer(Self.encode(replacement, as: id), to: id.value, key: id.key)
            case .drop: break
            }
            // A single response to a batched request: the held answers follow as their own batch.
            deliver(held)
            return
        }
        var routed: [[UInt8]] = []
        for element in elements {
            switch await route(serverMessage: element, held: &held, server: server) {
            case .forward: routed.append(Array(JSONWriter.write(element).utf8))
            case .answer(let id): routed.append(Self.encode(element, as: id))
            case .replace(let replacement, let id): routed.append(Self.encode(replacement, as: id))
            case .drop: break
            }
        }
        routed += held.map { Array(JSONWriter.write($0).utf8) }
        if !routed.isEmpty { client.write(JSONRPCBatch.joining(routed)) }
    }

    /// Sends Warden's answers held for a batch, as a batch of their own.
    func deliver(_ held: [JSONValue]) {
        if !held.isEmpty { client.write(Array(JSONWriter.write(.array(held)).utf8)) }
    }

    /// `answer`'s bytes with its id replaced by the client's `id`, byte for byte; `nil` when
    /// the id cannot be spliced (then it is re-encoded).
    static func renamed(_ answer: [UInt8], as id: SessionState.ClientRequestID) -> [UInt8]? {
        MessageID.valueRange(ofTopLevelID: answer).map { MessageID.replacing($0, in: answer, with: id.text) }
    }

    /// `answer` (an object) encoded under the client's `id`, spelled as the client did.
    static func encode(_ answer: JSONValue, as id: SessionState.ClientRequestID) -> [UInt8] {
        guard case .object(var object) = answer else { return Array(JSONWriter.write(answer).utf8) }
        object.set("id", to: id.value)
        let bytes = Array(JSONWriter.write(.object(object)).utf8)
        return renamed(bytes, as: id) ?? bytes
    }

    /// The forwarded request whose Warden id is `id`, if it is one (a number Warden gave;
    /// servers that re-encode numbers may write `7` as `7.0`).
    static func forwardedID(_ id: JSONValue) -> Int? {
        guard case .number(let number) = id else { return nil }
        if let integer = Int(number.text) { return integer }
        guard let double = Double(number.text), double.rounded() == double, abs(double) < 1e15 else { return nil }
        return Int(double)
    }

    /// When the client side stops waiting for the answer to the request the server got under
    /// Warden's id `id`; `nil` when it has no deadline or is no such request.
    func clientDeadline(ofForwarded id: JSONValue) -> ContinuousClock.Instant? {
        guard let upstreamID = Self.forwardedID(id), let clientID = state.withLock({ $0.forwarded[upstreamID]?.client.value }) else { return nil }
        return client.deadline(of: clientID)
    }

    /// A server message over the size limit is dropped, but whoever waits for it is told.
    func refuseOversize(_ message: MessageEnvelope, server: any Upstream) async {
        let limit = configuration.maxMessageBytes
        logger.warning("dropped a server message over the size limit", metadata: ["bytes": "\(message.length)", "limit": "\(limit)"])
        guard let id = message.id else { return }
        if message.hasMethod {
            await server.send(JSONRPCError.response(id: id, code: JSONRPCError.invalidRequest, message: "Invalid Request: the message is \(message.length) bytes, over Warden's limit of \(limit)"))
            return
        }
        let text = "The server's answer was \(message.length) bytes, over Warden's limit of \(limit) (--max-message-bytes)"
        if let own = state.withLock({ $0.ownRequests.removeValue(forKey: RequestKey(id)) }) {
            own.resume(throwing: OwnRequestError(description: text))
            return
        }
        guard let upstreamID = Self.forwardedID(id), let (request, held) = state.withLock({ $0.takeForwarded(upstreamID) }) else { return }
        if case .call(let call) = request.purpose {
            var record = call.record
            record.upstreamStatus = "answer too large"
            log(record)
        }
        client.write(JSONRPCError.response(id: request.client.value, code: JSONRPCError.internalError, message: text))
        deliver(held)
    }

    /// Routes one server message; the answers Warden holds for the batch a response belongs
    /// to are added to `held`.
    func route(serverMessage value: JSONValue, held: inout [JSONValue], server: any Upstream) async -> ServerRoute {
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(value)
        } catch {
            logger.warning("dropped a server message that is not JSON-RPC", metadata: ["reason": "\(error)"])
            return .drop
        }
        switch message {
        case .response(let id, let body):
            return await route(response: body, id: id, held: &held)
        case .notification("notifications/tools/list_changed", _):
            state.withLock {
                $0.tools = [:]
                $0.toolsComplete = false
                $0.listedDefinitions = [:]
            }
            relistForGuard(server: server)
            return .forward
        default:
            return .forward
        }
    }

    /// An answer goes to whoever asked under its id: Warden itself, or the client, under the
    /// id the client gave (a `tools/list` result filtered, a `tools/call` audited). An answer
    /// to no request in progress is dropped: the client never sent its id to the server.
    private func route(response body: JSONObject, id: JSONValue, held: inout [JSONValue]) async -> ServerRoute {
        // Warden's own requests have string ids, the requests it forwards numbers.
        if case .string = id, let continuation = state.withLock({ $0.ownRequests.removeValue(forKey: RequestKey(id)) }) {
            continuation.resume(returning: body)
            return .drop
        }
        let taken = Self.forwardedID(id).flatMap { upstreamID in state.withLock { $0.takeForwarded(upstreamID) } }
        guard let (request, heldAnswers) = taken else {
            // An error about a message the server could not read at all carries no id.
            if id == .null { return .forward }
            logger.warning("dropped an answer to no request in progress", metadata: ["id": "\(RequestKey(id).text)"])
            return .drop
        }
        held += heldAnswers
        switch request.purpose {
        case .call(let call):
            await complete(call, response: body)
            return .answer(request.client)
        case .toolList(let firstPage):
            guard let result = body["result"] else { return .answer(request.client) }
            let visible = policy.current.policy
            let blocked = screenToolList(Self.toolDefinitions(in: result), complete: firstPage && result["nextCursor"] == nil)
            let page = ToolListFilter(result: result) { visible.isVisible(tool: $0) && !blocked.contains(ExactName($0)) }
            state.withLock { $0.remember(page.tools) }
            guard let filtered = page.filteredResult else { return .answer(request.client) }
            var answer = body
            answer.set("result", to: filtered)
            return .replace(.object(answer), request.client)
        case .other:
            return .answer(request.client)
        }
    }

    /// Records the outcome of a forwarded call; a JSON-RPC error gives its counts back.
    func complete(_ call: SessionState.PendingCall, response body: JSONObject) async {
        let elapsed = ContinuousClock.now - call.started
        if let error = body["error"] {
            // Given back before the client reads the error, so that a retry finds the count free.
            await rollBack(call.reservations)
            log(call, outcome: "error \(error["code"]?.numberValue?.text ?? "?")", after: elapsed)
        } else {
            log(call, outcome: body["result"]?["isError"] == true ? "tool_error" : "ok", after: elapsed)
        }
    }

    /// Records a forwarded call's outcome (`upstream_status`) and how long the server took.
    private func log(_ call: SessionState.PendingCall, outcome: String, after elapsed: Duration) {
        // Copied once out of the pending call, then moved into the log through the optional
        // (`consume` does not compile here with Swift 6.3).
        var record = Optional(call.record)
        record!.latencyMilliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        record!.upstreamStatus = outcome
        log(record.take()!)
    }

    /// The server is gone: every call still waiting gets an error and its counts back. Safe to
    /// call more than once.
    func serverEnded() async {
        await cancelHeldCalls(because: "the server \(configuration.serverName) exited")
        let (requests, held, ownRequests) = state.withLock { state in
            state.serverGone = true
            defer { state.ownRequests.removeAll() }
            let taken = state.forwarded.keys.sorted().compactMap { state.takeForwarded($0) }
            return (taken.map(\.request), taken.flatMap(\.held), state.ownRequests)
        }
        for continuation in ownRequests.values {
            continuation.resume(throwing: OwnRequestError(description: "the server exited"))
        }
        for request in requests {
            if case .call(let call) = request.purpose {
                var record = call.record
                record.upstreamStatus = "no response"
                log(record)
                await rollBack(call.reservations)
            }
            client.write(JSONRPCError.response(
                id: request.client.value, code: JSONRPCError.internalError,
                message: "The server \(configuration.serverName) exited before answering this request"))
        }
        deliver(held)
        await audit.flush()
    }

    /// Gives counts back (a call failed, or was refused after they were reserved).
    func rollBack(_ reservations: [CounterReservation]) async {
        guard !reservations.isEmpty else { return }
        do {
            try await ledger.rollBack(reservations)
        } catch {
            logger.error("could not give back the counts of a failed call", metadata: ["error": "\(error)"])
        }
    }
}
