import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

extension StdioGateway {
    /// What to do with one server message.
    enum ServerRoute {
        /// Send the original bytes to the client.
        case forward
        /// Send this value instead (a filtered tools/list result).
        case replace(JSONValue)
        /// Send nothing (an answer to Warden's own request, or a message that cannot be understood).
        case drop
    }

    /// Relays the server's messages to the client until its stdout ends, then answers every
    /// call still waiting. Messages are handled on the thread that reads them: nothing on
    /// this path waits for I/O but the write to the client.
    func relayServer(_ server: ServerProcess) async {
        await FileDescriptorReader.lines(of: server.outputDescriptor, maxLineLength: configuration.maxMessageBytes) { line in
            self.handleServerLine(line, server: server)
        }
        await serverEnded()
    }

    func handleServerLine(_ line: LineFramer.Line, server: any Upstream) {
        guard case .message(let bytes) = line else {
            if case .tooLong(let message) = line { refuseOversize(message, server: server) }
            return
        }
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes, configuration: .init(maxDepth: configuration.maxDepth))
        } catch {
            logger.warning("dropped a line from the server that is not acceptable JSON", metadata: ["reason": "\(error)"])
            return
        }
        let elements = value.arrayValue ?? [value]
        let held = state.withLock { $0.takeHeldAnswers(for: elements.compactMap { $0["id"].map(RequestKey.init) }) }
        var routed: [JSONValue] = []
        var changed = !held.isEmpty
        for element in elements {
            switch route(serverMessage: element) {
            case .forward: routed.append(element)
            case .replace(let replacement):
                routed.append(replacement)
                changed = true
            case .drop: changed = true
            }
        }
        if !changed {
            client.write(bytes)
        } else if case .array = value {
            if !routed.isEmpty || !held.isEmpty { client.write(Array(JSONWriter.write(.array(routed + held)).utf8)) }
        } else {
            // A single response to a batched request: the held answers follow as their own batch.
            routed.forEach { client.write(Array(JSONWriter.write($0).utf8)) }
            if !held.isEmpty { client.write(Array(JSONWriter.write(.array(held)).utf8)) }
        }
    }

    /// A request the upstream could not take or answer (a remote server unreachable, an HTTP
    /// error) still gets an answer, as if the server had sent it: -32603 saying what happened.
    func answerUndelivered(_ request: MessageEnvelope, because what: String, server: any Upstream) {
        guard request.hasMethod, let id = request.id else { return }
        let text = "The server \(configuration.serverName) \(what)"
        handleServerLine(.message(JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: text)), server: server)
    }

    /// A server message over the size limit is dropped, but whoever waits for it is told.
    func refuseOversize(_ message: MessageEnvelope, server: any Upstream) {
        let limit = configuration.maxMessageBytes
        logger.warning("dropped a server message over the size limit", metadata: ["bytes": "\(message.length)", "limit": "\(limit)"])
        guard let id = message.id else { return }
        if message.hasMethod {
            server.send(JSONRPCError.response(id: id, code: JSONRPCError.invalidRequest, message: "Invalid Request: the message is \(message.length) bytes, over Warden's limit of \(limit)"))
            return
        }
        let text = "The server's answer was \(message.length) bytes, over Warden's limit of \(limit) (--max-message-bytes)"
        let key = RequestKey(id)
        let (call, own) = state.withLock { state in
            state.clientToolLists.remove(key)
            return (state.pendingCalls.removeValue(forKey: key), state.ownRequests.removeValue(forKey: key))
        }
        if let own {
            own.resume(throwing: OwnRequestError(description: text))
            return
        }
        if let call {
            var record = call.record
            record.upstreamStatus = "answer too large"
            log(record)
        }
        client.write(JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: text))
    }

    func route(serverMessage value: JSONValue) -> ServerRoute {
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(value)
        } catch {
            logger.warning("dropped a server message that is not JSON-RPC", metadata: ["reason": "\(error)"])
            return .drop
        }
        switch message {
        case .response(let id, let body):
            return route(response: body, key: RequestKey(id))
        case .notification("notifications/tools/list_changed", _):
            state.withLock {
                $0.tools = [:]
                $0.toolsComplete = false
            }
            return .forward
        default:
            return .forward
        }
    }

    private func route(response body: JSONObject, key: RequestKey) -> ServerRoute {
        enum Waiting {
            case own(CheckedContinuation<JSONObject, any Error>)
            case call(SessionState.PendingCall)
            case toolList
            case nothing
        }
        let waiting = state.withLock { state -> Waiting in
            if let continuation = state.ownRequests.removeValue(forKey: key) { return .own(continuation) }
            if let call = state.pendingCalls.removeValue(forKey: key) { return .call(call) }
            if state.clientToolLists.remove(key) != nil { return .toolList }
            return .nothing
        }
        switch waiting {
        case .own(let continuation):
            continuation.resume(returning: body)
            return .drop
        case .call(let call):
            complete(call, response: body)
            return .forward
        case .toolList:
            guard let result = body["result"] else { return .forward }
            let visible = policy.current.policy
            let page = ToolListFilter(result: result) { visible.isVisible(tool: $0) }
            state.withLock { $0.remember(page.tools) }
            guard let filtered = page.filteredResult else { return .forward }
            var replaced = body
            for index in replaced.members.indices where replaced.members[index].key == "result" {
                replaced.members[index].value = filtered
            }
            return .replace(.object(replaced))
        case .nothing:
            return .forward
        }
    }

    /// Records the outcome of a forwarded call; a JSON-RPC error gives its counts back (in
    /// the background: the answer need not wait for it).
    func complete(_ call: SessionState.PendingCall, response body: JSONObject) {
        var record = call.record
        let elapsed = ContinuousClock.now - call.started
        record.latencyMilliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        if let error = body["error"] {
            record.upstreamStatus = "error \(error["code"]?.numberValue?.text ?? "?")"
            // Given back before the client reads the error, so that a retry finds the count free.
            rollBackNow(call.reservations)
        } else if body["result"]?["isError"] == true {
            record.upstreamStatus = "tool_error"
        } else {
            record.upstreamStatus = "ok"
        }
        log(record)
    }

    /// The server is gone: every call still waiting gets an error and its counts back. Safe to
    /// call more than once.
    func serverEnded() async {
        await cancelHeldCalls(because: "the server \(configuration.serverName) exited")
        let (calls, ownRequests) = state.withLock { state in
            state.serverGone = true
            defer {
                state.pendingCalls.removeAll()
                state.ownRequests.removeAll()
            }
            return (state.pendingCalls, state.ownRequests)
        }
        for continuation in ownRequests.values {
            continuation.resume(throwing: OwnRequestError(description: "the server exited"))
        }
        for (key, call) in calls {
            var record = call.record
            record.upstreamStatus = "no response"
            log(record)
            await rollBack(call.reservations)
            let id = (try? JSONReader.parse(key.text)) ?? .null
            client.write(JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: "The server \(configuration.serverName) exited before answering this call"))
        }
        await audit.flush()
    }

    /// Gives counts back from a reader thread (never from the concurrency pool).
    func rollBackNow(_ reservations: [CounterReservation]) {
        guard !reservations.isEmpty else { return }
        do {
            if let blocking = ledger as? any BlockingCounterLedger {
                try blocking.rollBackNow(reservations)
            } else {
                try waitFor { try await self.ledger.rollBack(reservations) }
            }
        } catch {
            logger.error("could not give back the counts of a failed call", metadata: ["error": "\(error)"])
        }
    }

    func rollBack(_ reservations: [CounterReservation]) async {
        guard !reservations.isEmpty else { return }
        do {
            try await ledger.rollBack(reservations)
        } catch {
            logger.error("could not give back the counts of a failed call", metadata: ["error": "\(error)"])
        }
    }
}
