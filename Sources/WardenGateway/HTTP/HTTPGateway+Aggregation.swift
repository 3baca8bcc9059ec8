import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import WardenJSON
import WardenMCP
import WardenStore

extension HTTPGateway {
    /// POST /mcp: like `/mcp/<server>`, for the aggregated session of every server the caller reaches.
    func postAggregate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (servers, caller) = try aggregateEndpoint(context)
        try registry.refuseWhenDraining()
        var request = request
        let (value, body) = try await readMessage(&request, caller: caller, server: nil, httpRequest: context.id)
        let posted = PostedMessages(value, body: body)
        if !posted.isBatch, let refusal = posted.refusals.first { return Self.refused(refusal) }
        if request.headers[.mcpSessionID] == nil, StatelessExchange.isStateless(value, headers: request.headers) {
            return await postStateless(
                value, headers: request.headers, caller: caller, servers: servers, aggregated: true, httpRequest: context.id)
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        let session: AggregateSession
        if let id = request.headers[.mcpSessionID] {
            guard let found = registry.aggregate(id, of: caller) else {
                throw MCPHTTPError(.notFound, "Session not found: it ended, or was never opened by this caller")
            }
            session = found
        } else if case .object = value, value["method"] == "initialize" {
            try registry.admit(caller.owner)
            do {
                session = try openAggregate(for: caller, servers: servers)
            } catch {
                registry.release(caller.owner)
                throw error
            }
            registry.add(session)
            headers[.mcpSessionID] = session.id
        } else {
            throw MCPHTTPError(.badRequest, "Bad Request: the Mcp-Session-Id header is required (send initialize first)")
        }
        return await registry.inFlight {
            if case .request(let id, "tools/call", let body)? = try? JSONRPCMessage(value),
                request.headers[.accept]?.contains("text/event-stream") == true
            {
                // A single call may be held: its POST then streams the messages about it.
                let outcome = await session.callToolStreaming(
                    body, id: id, timeout: .seconds(configuration.limits.upstreamTimeoutSeconds), httpRequest: context.id)
                return Self.response(to: outcome, id: id, headers: headers)
            }
            var answers = posted.refusals
            for element in posted.admitted {
                if let answer = await session.handle(element, timeout: .seconds(configuration.limits.upstreamTimeoutSeconds), httpRequest: context.id) {
                    answers.append(answer)
                }
            }
            if answers.isEmpty { return Response(status: .accepted) }
            let payload = posted.isBatch ? JSONRPCBatch.joining(answers) : answers[0]
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: payload)))
        }
    }

    /// GET /mcp: the aggregated session's stream.
    func openAggregateStream(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try existingAggregate(request, context: context)
        return try Self.eventStream(from: session.stream, for: request) { session.stream.close() }
    }

    /// DELETE /mcp: ends the aggregated session and its servers.
    func endAggregate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let session = try existingAggregate(request, context: context)
        registry.end(session)
        return Response(status: .ok)
    }

    private func existingAggregate(_ request: Request, context: GatewayRequestContext) throws -> AggregateSession {
        let (_, caller) = try aggregateEndpoint(context)
        guard let id = request.headers[.mcpSessionID] else {
            throw MCPHTTPError(.badRequest, "Bad Request: the Mcp-Session-Id header is required")
        }
        guard let session = registry.aggregate(id, of: caller) else {
            throw MCPHTTPError(.notFound, "Session not found: it ended, or was never opened by this caller")
        }
        return session
    }

    /// The caller and the servers they reach; 403 when none.
    private func aggregateEndpoint(_ context: GatewayRequestContext) throws -> ([GatewayConfiguration.Server], Caller) {
        let caller = try context.requireCaller()
        let servers = configuration.servers.filter { caller.mayReach($0.name) }
        guard !servers.isEmpty else { throw MCPHTTPError(.forbidden, "Forbidden: this caller reaches no server") }
        return (servers, caller)
    }

    /// Starts a member session per server; if one cannot start, none is kept. Without a
    /// back channel (stateless requests), the caller is asked through `input_required`
    /// results instead: the servers' own requests, and approvals that name them.
    func openAggregate(for caller: Caller, servers: [GatewayConfiguration.Server], hasBackChannel: Bool = true) throws -> AggregateSession {
        var members: [(name: String, session: HTTPSession)] = []
        do {
            for server in servers {
                members.append((
                    server.name,
                    try openSession(
                        for: caller, server: server, hasBackChannel: hasBackChannel, callerAskedByTransport: !hasBackChannel, registered: false)
                ))
            }
        } catch {
            members.forEach { $0.session.close() }
            logger.error("could not open an aggregated session", metadata: ["error": "\(error)"])
            throw MCPHTTPError(.badGateway, "Warden could not start every server of the aggregated session", code: JSONRPCError.internalError)
        }
        let session = AggregateSession(
            owner: caller.owner, identity: caller.identity, separator: configuration.aggregationSeparator, members: members,
            logger: logger
        ) { [audit, metrics] record in
            audit.record(record)
            metrics.observe(record)
        }
        logger.info("aggregated session opened", metadata: ["servers": "\(servers.map(\.name).joined(separator: ","))", "caller": "\(caller.owner)"])
        return session
    }

}
