import Hummingbird
import Logging
import Synchronization
import WardenMCP

/// The legacy HTTP+SSE transport (2024-11-05).
extension HTTPGateway {
    /// GET /sse/<server>: opens a session whose every message to the client goes on this
    /// stream; the first event names the endpoint to POST to. The session ends with the stream.
    func openLegacyStream(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let (server, caller) = try await endpoint(request, context: context)
        if draining.load(ordering: .relaxed) { throw MCPHTTPError(.serviceUnavailable, "The gateway is shutting down") }
        let session: HTTPSession
        do {
            session = try openSession(for: caller, server: server, answersOnStream: true)
        } catch {
            logger.error("could not open a session", metadata: ["server": "\(server.name)", "error": "\(error)"])
            throw MCPHTTPError(.badGateway, "Warden could not start the server \(server.name)", code: JSONRPCError.internalError)
        }
        let endpoint = ServerSentEvents.event(data: Array("/messages/\(server.name)?session_id=\(session.id)".utf8), type: "endpoint")
        return try Self.eventStream(from: session.stream, for: request, first: endpoint) { [weak self] in self?.sessionEnded(session) }
    }

    /// POST /messages/<server>?session_id=…: a message for a legacy session; 202, with any
    /// answer on the session's stream.
    func postLegacyMessage(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let (server, caller) = try await endpoint(request, context: context)
        guard let id = request.uri.queryParameters.get("session_id") else {
            throw MCPHTTPError(.badRequest, "Bad Request: the session_id query parameter is required")
        }
        guard let session = session(id, of: caller, server: server.name) else {
            throw MCPHTTPError(.notFound, "Session not found: it ended, or was never opened by this caller")
        }
        var request = request
        let (value, body) = try await readMessage(&request)
        session.send(Self.messages(of: value, body: body), httpRequest: context.id)
        return Response(status: .accepted)
    }
}
