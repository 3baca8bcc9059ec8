import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import WardenJSON
import WardenMCP
import WardenStore

extension HTTPGateway {
    /// POST /mcp: like `/mcp/<server>`, for the aggregated session of every server the caller
    /// reaches (see ``post(_:context:caller:servers:aggregated:session:open:)``).
    func postAggregate(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (servers, caller) = try aggregateEndpoint(context)
        return try await post(
            request, context: context, caller: caller, servers: servers, aggregated: true,
            session: { self.registry.aggregate($0, of: caller) },
            open: {
                try self.registry.admit(caller.owner)
                do {
                    let session = try self.openAggregate(for: caller, servers: servers)
                    self.registry.add(session)
                    return session
                } catch {
                    self.registry.release(caller.owner)
                    throw error
                }
            })
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
        guard let id = request.headers.value(.mcpSessionID) else { throw MCPHTTPError.sessionIDRequired }
        guard let session = registry.aggregate(id, of: caller) else { throw sessionNotFound(id) }
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
        // Shadowing follows `on_poisoning` where it says `log` (findings reported only); it blocks otherwise.
        let reportedOnly = Set(servers.filter { ($0.onPoisoning ?? configuration.pinning.onPoisoning) == .log }.map(\.name))
        let session = AggregateSession(
            id: instance.newIdentifier(), owner: caller.owner, identity: caller.identity, separator: configuration.aggregationSeparator, members: members,
            shadowingReportedOnly: reportedOnly, logger: logger
        ) { [audit, metrics] record in
            audit.record(record)
            metrics.observe(record)
        }
        logger.info("aggregated session opened", metadata: ["servers": "\(servers.map(\.name).joined(separator: ","))", "caller": "\(caller.owner)"])
        return session
    }

}
