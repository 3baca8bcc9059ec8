import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WardenJSON
import WardenMCP
import WardenStore

/// Stateless (2026-07-28) requests, one per POST, without `Mcp-Session-Id`: each is checked,
/// then answered by Warden (`server/discover`) or forwarded through the caller's stateless
/// session (``StatelessSession``). A call held for the caller's approval, or a server's question
/// for the caller, becomes an `input_required` result; the caller's retry, naming the parked
/// call by its `requestState`, brings the answer and resumes it.
struct StatelessEndpoint: Sendable {
    let registry: SessionRegistry
    let approvals: any ApprovalStore
    let instance: GatewayInstance
    let metrics: GatewayMetrics
    let logger: Logger
    /// How long a request may wait for its server.
    let timeout: Duration
    /// Opens a caller's session with one server for stateless requests (not registered, no back channel).
    let openSession: @Sendable (Caller, GatewayConfiguration.Server) throws -> HTTPSession
    /// Opens a caller's session with every server of the aggregated endpoint, likewise.
    let openAggregate: @Sendable (Caller, [GatewayConfiguration.Server]) throws -> AggregateSession

    /// Why `value` is not a JSON-RPC message, if it is not.
    private static func invalidMessage(_ value: JSONValue) -> JSONRPCMessage.Invalid? {
        do {
            _ = try JSONRPCMessage(value)
            return nil
        } catch {
            return error
        }
    }

    /// A stateless (2026-07-28) request: checked, then answered by Warden (`server/discover`)
    /// or forwarded through the caller's session with the server, as the policy decides.
    func post(
        _ value: JSONValue, headers: HTTPFields, caller: Caller, servers: [GatewayConfiguration.Server], aggregated: Bool, httpRequest: String
    ) async -> Response {
        if case .object = value, let error = Self.invalidMessage(value) {
            return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.invalidRequest, message: "Invalid Request: \(error)"), id: error.id)
        }
        guard case .object(var body) = value, case .string(let method)? = body["method"] else {
            return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.invalidRequest, message: "Invalid Request: a stateless POST carries one request"), id: value["id"])
        }
        guard let id = body["id"], id != .null else { return Response(status: .accepted) }
        do {
            try StatelessExchange.check(body, headers: headers)
        } catch {
            return Self.stateless(error, id: id)
        }
        if method == "tools/call", case .string(let handle)? = body["params"]?["requestState"], let refusal = foreignRequestState(handle) {
            return Self.stateless(refusal, id: id)
        }
        let upstream: StatelessSession
        let names = servers.map(\.name).joined(separator: ", ")
        do {
            upstream = try await statelessSession(for: caller, servers: servers, aggregated: aggregated, timeout: timeout)
        } catch {
            logger.error("could not open a session for stateless requests", metadata: ["servers": "\(names)", "error": "\(error)"])
            return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.internalError, message: "Warden could not start \(names)"), id: id)
        }
        if method == "server/discover" {
            let result: JSONValue = [
                "supportedVersions": .array(ProtocolVersions.stateless.map(JSONValue.string)),
                "capabilities": upstream.capabilities, "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
            ]
            return Self.json(.ok, Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": result]).utf8))
        }
        if method == "tools/call", case .string(let tool)? = body["params"]?["name"],
            let declarations = await upstream.headerParameters(ofTool: tool), !declarations.isEmpty,
            let problem = MCPParamHeaders.mismatch(
                declarations, arguments: body["params"]?["arguments"]?.objectValue ?? JSONObject(),
                headers: headers.map { ($0.name.canonicalName, $0.value) })
        {
            return Self.stateless(StatelessExchange.Refusal(code: StatelessExchange.headerMismatch, message: problem), id: id)
        }
        return await registry.inFlight {
            let meta = body["params"]?["_meta"]
            if method == "tools/call", case .string(let handle)? = body["params"]?["requestState"] {
                return await resumeAskedCall(handle, body: body, id: id, meta: meta, timeout: timeout, sessions: upstream.sessions)
            }
            if method == "tools/call", case .string(let name)? = body["params"]?["name"], let (session, tool) = upstream.callee(of: name) {
                let forwardedID = upstream.nextID()
                body = StatelessExchange.handshakeEra(body)
                body.set("id", to: forwardedID)
                if tool != name, case .object(var params)? = body["params"] {
                    params.set("name", to: .string(tool))
                    body.set("params", to: .object(params))
                }
                let (outcome, slot) = await session.exchange(
                    Array(JSONWriter.write(.object(body)).utf8), parsed: .object(body), request: (RequestKey(forwardedID), forwardedID),
                    whenHeld: .asksCaller, timeout: timeout, httpRequest: httpRequest)
                return await conclude(outcome, slot: slot, id: id, meta: meta, timeout: timeout, session: session)
            }
            let forwardedID = upstream.nextID()
            body = StatelessExchange.handshakeEra(body)
            body.set("id", to: forwardedID)
            let answer =
                await upstream.exchange(.object(body), timeout: timeout, httpRequest: httpRequest)
                ?? JSONRPCError.response(id: forwardedID, code: JSONRPCError.internalError, message: "No answer")
            return Self.statelessAnswer(answer, id: id, method: method)
        }
    }

    /// A stateless call's answer. What comes before it are questions for the caller (an
    /// approval they may give, a request of the server's): each becomes an `input_required`
    /// result when the caller can answer it, the call waiting under its `requestState`;
    /// otherwise the approval is closed (when only the caller could give it) or the server is
    /// told no, and the call goes on.
    private func conclude(
        _ first: ResponseSlot.Outcome, slot: ResponseSlot?, id: JSONValue, meta: JSONValue?, timeout: Duration, session: HTTPSession
    ) async -> Response {
        var outcome = first
        while true {
            switch outcome {
            case .answer(let answer):
                return Self.statelessAnswer(answer, id: id, method: "tools/call")
            case .held:
                return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.internalError, message: "Internal error"), id: id)
            case .awaitingCaller(let approval):
                if let slot, let asked = await askCaller(about: approval, slot: slot, id: id, meta: meta, session: session) { return asked }
            case .needsInput(let request):
                if let slot, let asked = askCaller(toAnswer: request, slot: slot, id: id, meta: meta, timeout: timeout, session: session) {
                    return asked
                }
            }
            guard let slot else {
                return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.internalError, message: "The call's answer was lost"), id: id)
            }
            outcome = await slot.outcome()
        }
    }

    /// A held call whose approval names its caller: a client that can answer an elicitation
    /// gets an `input_required` result asking them (its retry brings the answer back, with
    /// the `requestState` naming the parked call). Otherwise `nil`, after closing an approval
    /// only the caller could have given.
    private func askCaller(
        about approval: Approval, slot: ResponseSlot, id: JSONValue, meta: JSONValue?, session: HTTPSession
    ) async -> Response? {
        guard meta?[StatelessExchange.clientCapabilitiesKey]?["elicitation"] != nil else {
            if approval.approvers == [Approval.callerApprover] {
                _ = try? await approvals.close(
                    id: approval.id, as: .cancelled, reason: "only the caller may approve it, and this client cannot be asked")
            }
            return nil
        }
        let handle = session.park(slot, question: .approval(approval.id), postponing: .zero, handle: instance.newIdentifier())
        return Self.inputRequired(
            ["approve": ["method": "elicitation/create", "params": CallerApproval.question(for: approval)]], handle: handle, id: id)
    }

    /// The server's own request (sampling, elicitation, roots) while a stateless call runs:
    /// a caller that declared the capability gets it in an `input_required` result (its retry
    /// brings the answer, which Warden sends the server). Otherwise `nil`, after telling the
    /// server the caller cannot answer.
    private func askCaller(
        toAnswer request: [UInt8], slot: ResponseSlot, id: JSONValue, meta: JSONValue?, timeout: Duration, session: HTTPSession
    ) -> Response? {
        guard let message = try? JSONReader.parse(request), let serverID = message["id"], case .string(let method)? = message["method"] else {
            return nil
        }
        let capability = StatelessExchange.capability(answering: method)
        guard let capability, meta?[StatelessExchange.clientCapabilitiesKey]?[capability] != nil else {
            session.send([JSONRPCError.response(
                id: serverID, code: JSONRPCError.methodNotFound, message: "Method not found: the caller cannot answer \(method)")])
            return nil
        }
        let handle = session.park(slot, question: .serverRequest(serverID), postponing: timeout, handle: instance.newIdentifier())
        let asked: JSONValue = message["params"].map { ["method": .string(method), "params": $0] } ?? ["method": .string(method)]
        return Self.inputRequired([StatelessExchange.serverRequestKey: asked], handle: handle, id: id)
    }

    /// An `input_required` result asking `requests`, to be retried with `requestState` `handle`.
    private static func inputRequired(_ requests: JSONValue, handle: String, id: JSONValue) -> Response {
        let result: JSONValue = ["resultType": "input_required", "inputRequests": requests, "requestState": .string(handle)]
        return json(.ok, Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": result]).utf8))
    }

    /// The retry of a call whose caller was asked: their answer decides the approval (a
    /// dismissed form decides nothing), or goes to the server that asked; then the call goes on.
    private func resumeAskedCall(
        _ handle: String, body: JSONObject, id: JSONValue, meta: JSONValue?, timeout: Duration, sessions: [HTTPSession]
    ) async -> Response {
        // Handles are unguessable: at most one of the sessions has this one. (`collect` takes the
        // call out, so it must run once per session: not in a lazy map, which may run it twice.)
        var found: (HTTPSession, HTTPSession.Parked)?
        for session in sessions where found == nil {
            if let parked = session.collect(handle) { found = (session, parked) }
        }
        guard let (session, parked) = found else {
            return Self.stateless(
                StatelessExchange.Refusal(code: JSONRPCError.invalidParams, message: "Invalid params: unknown or expired requestState"), id: id)
        }
        let responses = body["params"]?["inputResponses"]
        switch parked.question {
        case .approval(let approval):
            if let (approve, reason) = CallerApproval.decision(in: responses?["approve"]) {
                do {
                    _ = try await approvals.decide(id: approval, approve: approve, by: Approval.callerApprover, reason: reason)
                } catch {
                    logger.info("the caller's answer did not decide the approval", metadata: ["approval": "\(approval)", "error": "\(error)"])
                }
            }
        case .serverRequest(let serverID):
            if case .object(let result)? = responses?[StatelessExchange.serverRequestKey] {
                session.send([Array(JSONWriter.write(["jsonrpc": "2.0", "id": serverID, "result": .object(result)]).utf8)])
            } else {
                session.send([JSONRPCError.response(id: serverID, code: JSONRPCError.internalError, message: "The caller did not answer")])
            }
        }
        return await conclude(await parked.slot.outcome(), slot: parked.slot, id: id, meta: meta, timeout: timeout, session: session)
    }

    /// The refusal of a retry whose `requestState` another instance handed out: the call it
    /// names waits there, and this instance cannot answer it. (Instances share no parked
    /// calls; see docs/scale-out.md.)
    private func foreignRequestState(_ handle: String) -> StatelessExchange.Refusal? {
        guard let owner = instance.foreignOwner(of: handle) else { return nil }
        metrics.foreignSession()
        logger.warning("a stateless retry for another instance reached this one", metadata: ["owner": "\(owner)", "instance": "\(instance.name)"])
        return StatelessExchange.Refusal(
            code: JSONRPCError.invalidParams,
            message: "Invalid params: this requestState was issued by the Warden instance \(owner), and this retry reached \(instance.name), "
                + "which cannot resume it. Send the original call again without requestState (it will be decided afresh), "
                + "or have the load balancer send each caller's stateless requests to one instance (see docs/scale-out.md)",
            data: ["requestStateInstance": .string(owner), "instance": .string(instance.name)])
    }

    /// A stateful server's answer dressed for the stateless revision, with the HTTP status its error code calls for.
    private static func statelessAnswer(_ answer: [UInt8], id: JSONValue, method: String) -> Response {
        // Read once, for its error code and its dressing.
        let read = try? JSONReader.parse(answer)
        let code = read?["error"]?["code"]?.numberValue.flatMap { Int($0.text) }
        let status = code.map { StatelessExchange.Refusal(code: $0, message: "").status } ?? .ok
        return Self.json(status, StatelessExchange.answer(answer, read: read, id: id, method: method))
    }

    /// The caller's session for stateless requests, with one server or (`aggregated`) all of
    /// `servers`, opened and initialized on first use; concurrent first requests share one.
    private func statelessSession(
        for caller: Caller, servers: [GatewayConfiguration.Server], aggregated: Bool, timeout: Duration
    ) async throws -> StatelessSession {
        let key = caller.owner + "\n" + (aggregated ? "/mcp" : servers.map(\.name).joined())
        return try await registry.statelessSession(key) {
            try await self.openStatelessSession(for: caller, servers: servers, aggregated: aggregated, timeout: timeout)
        }
    }

    private func openStatelessSession(
        for caller: Caller, servers: [GatewayConfiguration.Server], aggregated: Bool, timeout: Duration
    ) async throws -> StatelessSession {
        let target: StatelessSession.Target =
            aggregated
            ? .aggregate(try openAggregate(caller, servers))
            : .server(try openSession(caller, servers[0]))
        let opening = StatelessSession(target: target, capabilities: [:])
        // Every feature a caller may answer through `input_required` rounds is declared, so that
        // servers use them; each request tells whether its own caller can, and is refused if not.
        let capabilities: JSONValue = ["sampling": [:], "elicitation": [:], "roots": [:]]
        let initialize = MCPHandshake.initialize(
            id: "warden-initialize", protocolVersion: ProtocolVersions.latestWithHandshake, capabilities: capabilities, role: "stateless")
        let answer = await opening.exchange(initialize, timeout: timeout)
        guard let result = answer.flatMap({ try? JSONReader.parse($0) })?["result"] else {
            opening.close()
            throw HTTPGateway.UnsupportedConfiguration(description: "\(servers.map(\.name).joined(separator: ", ")) did not accept initialize")
        }
        _ = await opening.exchange(MCPHandshake.initialized, timeout: timeout)
        return StatelessSession(target: target, capabilities: result["capabilities"] ?? [:])
    }

    private static func stateless(_ refusal: StatelessExchange.Refusal, id: JSONValue?) -> Response {
        json(refusal.status, refusal.response(id: id))
    }

    private static func json(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
