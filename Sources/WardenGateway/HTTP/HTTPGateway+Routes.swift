import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenStore

extension HTTPField.Name {
    static let mcpSessionID = Self("Mcp-Session-Id")!
    static let mcpProtocolVersion = Self("MCP-Protocol-Version")!
    static let mcpMethod = Self("Mcp-Method")!
    static let mcpName = Self("Mcp-Name")!
    static let lastEventID = Self("Last-Event-ID")!
}

extension HTTPGateway {
    func makeRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        // Every request is logged (at info) with its id, which the audit record of a call it
        // carried repeats (`http_request_id`).
        router.add(middleware: LogRequestsMiddleware(.info))
        router.add(middleware: RequestOriginGuard(policy: OriginPolicy(listen: configuration.listen)))
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ in try await self.readiness() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.exposition())))
        }
        let mcp = router.group().add(
            middleware: CallerAuthentication(anonymous: configuration.listen.anonymous, store: store, jwt: jwt, metrics: metrics, logger: logger))
        mcp.post("/mcp/:server") { request, context in try await self.post(request, context: context) }
        mcp.get("/mcp/:server") { request, context in try await self.openStream(request, context: context) }
        mcp.delete("/mcp/:server") { request, context in try await self.endSession(request, context: context) }
        mcp.post("/mcp") { request, context in try await self.postAggregate(request, context: context) }
        mcp.get("/mcp") { request, context in try await self.openAggregateStream(request, context: context) }
        mcp.delete("/mcp") { request, context in try await self.endAggregate(request, context: context) }
        mcp.get("/sse/:server") { request, context in try await self.openLegacyStream(request, context: context) }
        mcp.post("/messages/:server") { request, context in try await self.postLegacyMessage(request, context: context) }
        AdminRoutes(store: store, servers: configuration.servers, policies: policies, toolsSeen: registry.toolsSeen, logger: logger, pins: pinning.book, audit: audit).add(to: router)
        return router
    }

    /// Ready when the state store answers and the gateway is not shutting down.
    func readiness() async throws -> Response {
        if registry.isDraining { return Self.plain(.serviceUnavailable, "shutting down\n") }
        do {
            try await store.checkReadable()
            return Self.plain(.ok, "ready\n")
        } catch {
            return Self.plain(.serviceUnavailable, "the state store cannot be read\n")
        }
    }

    /// The 404 for a session id that names no session here: one that says whose it is when
    /// another instance handed it out.
    func sessionNotFound(_ id: String) -> MCPHTTPError {
        guard let owner = instance.foreignOwner(of: id) else { return .sessionNotFound }
        metrics.foreignSession()
        logger.warning("a request for another instance's session reached this one", metadata: ["owner": "\(owner)", "instance": "\(instance.name)"])
        return .sessionOfAnotherInstance(owner: owner, here: instance.name)
    }

    /// The server named in the path and the caller, allowed to reach it.
    func endpoint(_ context: GatewayRequestContext) throws -> (GatewayConfiguration.Server, Caller) {
        let caller = try context.requireCaller()
        let name = context.parameters.get("server") ?? ""
        guard let server = servers[name] else {
            throw MCPHTTPError(.notFound, "Not Found: no server named \(name) behind this gateway")
        }
        guard caller.mayReach(name) else {
            throw MCPHTTPError(.forbidden, "Forbidden: this grant does not reach the server \(name)")
        }
        return (server, caller)
    }

    // MARK: - Streamable HTTP

    /// POST /mcp/<server>: see ``post(_:context:caller:servers:aggregated:session:open:)``.
    func post(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (server, caller) = try endpoint(context)
        return try await post(
            request, context: context, caller: caller, servers: [server], aggregated: false,
            session: { self.registry.session($0, of: caller, server: server.name) },
            open: { try self.openClientSession(for: caller, server: server) })
    }

    /// The POST of both Streamable HTTP endpoints: one JSON-RPC message or batch from the
    /// client, for the session `session` finds by its id, or one `open` opens for an
    /// `initialize`. Requests are answered in the response body (JSON); notifications and
    /// responses get 202. A request without a session in the stateless revision goes to
    /// `servers` (all of them, `aggregated`) through the caller's stateless session.
    func post<Session: ClientSession>(
        _ request: Request, context: GatewayRequestContext, caller: Caller, servers: [GatewayConfiguration.Server], aggregated: Bool,
        session find: (String) -> Session?, open: () throws -> Session
    ) async throws -> Response {
        try registry.refuseWhenDraining()
        var request = request
        let httpRequest = context.id  // formatted anew on each read
        let (value, body) = try await readMessage(&request, caller: caller, server: aggregated ? nil : servers.first?.name, httpRequest: httpRequest)
        if request.headers.value(.mcpSessionID) == nil, StatelessExchange.isStateless(value, headers: request.headers) {
            return await stateless.post(
                value, headers: request.headers, caller: caller, servers: servers, aggregated: aggregated, httpRequest: httpRequest)
        }
        if let version = request.headers.value(.mcpProtocolVersion), !ProtocolVersions.withHandshake.contains(version) {
            throw MCPHTTPError(.badRequest, "Bad Request: unsupported MCP-Protocol-Version \(version)")
        }
        let posted = PostedMessages(value, body: body)
        if !posted.isBatch, let refusal = posted.refusals.first { return Self.refused(refusal) }
        let session: Session
        var headers: HTTPFields = [.contentType: "application/json"]
        if let id = request.headers.value(.mcpSessionID) {
            guard let found = find(id) else { throw sessionNotFound(id) }
            session = found
        } else if case .object = value, value["method"] == "initialize" {
            session = try open()
            headers[.mcpSessionID] = session.id
        } else {
            throw MCPHTTPError(.badRequest, "Bad Request: the Mcp-Session-Id header is required (send initialize first)")
        }
        // A call held for approval turns a POST that takes an event stream into one: the
        // messages about the call, then its answer (after the batch's other answers).
        let streaming = request.headers.acceptsEventStream
        let outcomes = await registry.inFlight {
            await session.exchange(
                posted, streaming: streaming, timeout: .seconds(configuration.limits.upstreamTimeoutSeconds), httpRequest: httpRequest)
        }
        if outcomes.isEmpty && posted.refusals.isEmpty { return Response(status: .accepted) }
        return Self.response(to: posted.refusals.map(ResponseSlot.Outcome.answer) + outcomes, batch: posted.isBatch, headers: headers)
    }

    /// Opens a session of `caller` with `server` for a client (``openSession(for:server:answersOnStream:hasBackChannel:callerAskedByTransport:registered:)``):
    /// 429 when the caller has too many open, 502 when the server cannot be started.
    func openClientSession(for caller: Caller, server: GatewayConfiguration.Server, answersOnStream: Bool = false) throws(MCPHTTPError) -> HTTPSession {
        do {
            return try openSession(for: caller, server: server, answersOnStream: answersOnStream)
        } catch let refusal as MCPHTTPError {
            throw refusal  // the caller has too many sessions open
        } catch {
            logger.error("could not open a session", metadata: ["server": "\(server.name)", "error": "\(error)"])
            throw MCPHTTPError(.badGateway, "Warden could not start the server \(server.name)", code: JSONRPCError.internalError)
        }
    }

    /// The answer to a POST of one message Warden refuses at once (see ``PostedMessages``):
    /// 400, with the JSON-RPC error.
    static func refused(_ refusal: [UInt8]) -> Response {
        Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: refusal)))
    }

    /// Reads a request's body: one JSON-RPC message or a non-empty batch, within the limits.
    /// A `tools/call` refused because it cannot be read is audited, as from `caller` to `server`.
    func readMessage(
        _ request: inout Request, caller: Caller, server: String?, httpRequest: String
    ) async throws -> (JSONValue, [UInt8]) {
        let body = Array(try await request.collectBody(upTo: configuration.limits.maxBodyBytes).readableBytesView)
        let value: JSONValue
        do {
            value = try JSONReader.parse(body, configuration: .init(maxDepth: configuration.limits.maxDepth))
        } catch {
            let policyHash = (caller.policyPath ?? configuration.servers.first { $0.name == server }?.policyPath)
                .flatMap { try? policies.file(at: $0).current.hash }
            if let record = AuditRecord.refusedCall(
                EnvelopeScanner.envelope(of: body), because: "\(error)", identity: caller.identity,
                session: request.headers.value(.mcpSessionID), server: server, policyHash: policyHash, httpRequest: httpRequest)
            {
                audit.record(record)
                metrics.observe(record)
            }
            let refusal = UnreadableMessage(error)
            throw MCPHTTPError(.badRequest, refusal.message, code: refusal.code)
        }
        if value.arrayValue?.isEmpty == true { throw MCPHTTPError(.badRequest, JSONRPCError.Refusal.emptyBatch) }
        return (value, body)
    }

    /// GET: the session's stream of server-initiated messages (Server-Sent Events).
    func openStream(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (server, caller) = try endpoint(context)
        guard request.headers.acceptsEventStream else {
            throw MCPHTTPError(.notAcceptable, "Not Acceptable: the stream is text/event-stream")
        }
        guard let id = request.headers.value(.mcpSessionID) else { throw MCPHTTPError.sessionIDRequired }
        guard let session = registry.session(id, of: caller, server: server.name) else { throw sessionNotFound(id) }
        return try Self.eventStream(from: session.stream, for: request) { session.stream.close() }
    }

    /// A `text/event-stream` response carrying the messages of `client`'s stream, each with
    /// its event id, and a keep-alive comment every 15 seconds; `first` goes before them. A
    /// request with `Last-Event-ID` first gets again the messages sent after that event. When
    /// the client leaves, `gone` runs. 409 when the stream is open already.
    static func eventStream(
        from client: ClientStream, for request: Request, first: [UInt8]? = nil, gone: @escaping @Sendable () -> Void
    ) throws -> Response {
        let lastEventID = request.headers.value(.lastEventID).flatMap { Int($0) }
        guard let stream = client.open(resumingAfter: lastEventID) else {
            throw MCPHTTPError(.conflict, "Conflict: this session's stream is already open, or the session has ended")
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let ticker = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(15))
                    client.keepAlive()
                }
            }
            defer {
                ticker.cancel()
                gone()
            }
            try await request.body.consumeWithInboundCloseHandler { _ in
                if let first { try await writer.write(ByteBuffer(bytes: first)) }
                for await event in stream {
                    let bytes =
                        event.message.isEmpty
                        ? ServerSentEvents.keepAlive : ServerSentEvents.event(data: event.message, type: "message", id: event.id.map(String.init))
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
            } onInboundClosed: {
                gone()
            }
            try await writer.finish(nil)
        })
    }

    /// The response to a POST of requests (a batch when `batch`): their answers as JSON, or,
    /// when a call is held, an event stream: the answers there are, then the messages about
    /// each held call and its answer, until every held call is answered.
    static func response(to outcomes: [ResponseSlot.Outcome], batch: Bool, headers: HTTPFields) -> Response {
        var answers: [[UInt8]] = []
        var held: [AsyncStream<[UInt8]>] = []
        for outcome in outcomes {
            switch outcome {
            case .answer(let answer): answers.append(answer)
            case .held(let events): held.append(events)
            case .awaitingCaller, .needsInput: break  // only stateless POSTs ask their callers
            }
        }
        guard !held.isEmpty else {
            let payload =
                batch ? JSONRPCBatch.joining(answers) : answers.first ?? JSONRPCError.response(id: nil, code: JSONRPCError.internalError, message: "Internal error")
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: payload)))
        }
        let (merged, continuation) = AsyncStream<[UInt8]>.makeStream()
        answers.forEach { continuation.yield($0) }
        Task {
            await withTaskGroup(of: Void.self) { group in
                for events in held {
                    group.addTask { for await message in events { continuation.yield(message) } }
                }
            }
            continuation.finish()
        }
        return eventStream(of: merged, headers: headers)
    }

    static func eventStream(of events: AsyncStream<[UInt8]>, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for await message in events {
                try await writer.write(ByteBuffer(bytes: ServerSentEvents.event(data: message, type: "message")))
            }
            try await writer.finish(nil)
        })
    }

    /// DELETE: the client ends its session; the server process is stopped.
    func endSession(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (server, caller) = try endpoint(context)
        guard let id = request.headers.value(.mcpSessionID) else { throw MCPHTTPError.sessionIDRequired }
        guard let session = registry.session(id, of: caller, server: server.name) else { throw sessionNotFound(id) }
        registry.end(session)
        return Response(status: .ok)
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// An HTTP refusal with a JSON-RPC error body (id null), as MCP clients expect.
struct MCPHTTPError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var code: Int
    var headers: HTTPFields

    init(_ status: HTTPResponse.Status, _ message: String, code: Int = JSONRPCError.invalidRequest, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers
    }

    /// 404 for an `Mcp-Session-Id` that names no open session of the caller's.
    static let sessionNotFound = MCPHTTPError(.notFound, "Session not found: it ended, or was never opened by this caller")

    /// 404 for a session id another instance handed out (`owner`): the client starts a new
    /// session, and the operator learns that the load balancer routed it wrongly.
    static func sessionOfAnotherInstance(owner: String, here: String) -> MCPHTTPError {
        MCPHTTPError(
            .notFound,
            "Session not found: it belongs to the Warden instance \(owner), and this request reached \(here). Start a new session (initialize), "
                + "or have the load balancer route each request to the instance named before the '.' in its Mcp-Session-Id (see docs/scale-out.md)")
    }
    /// 400 for a request that needs an `Mcp-Session-Id` and has none.
    static let sessionIDRequired = MCPHTTPError(.badRequest, "Bad Request: the Mcp-Session-Id header is required")

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = JSONRPCError.response(id: nil, code: code, message: message)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
