import Hummingbird
import Logging
import Synchronization
import WardenJSON
import WardenMCP

/// The legacy HTTP+SSE transport (2024-11-05).
extension HTTPGateway {
    /// GET /sse/<server>: opens a session whose every message to the client goes on this
    /// stream; the first event names the endpoint to POST to. The session ends with the stream.
    func openLegacyStream(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (server, caller) = try endpoint(context)
        try registry.refuseWhenDraining()
        let session = try openClientSession(for: caller, server: server, answersOnStream: true)
        let endpoint = ServerSentEvents.event(data: Array("/messages/\(server.name)?session_id=\(session.id)".utf8), type: "endpoint")
        return try Self.eventStream(from: session.stream, for: request, first: endpoint) { [registry] in registry.end(session) }
    }

    /// POST /messages/<server>?session_id=…: a message for a legacy session; 202, with any
    /// answer on the session's stream.
    func postLegacyMessage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (server, caller) = try endpoint(context)
        guard let id = request.uri.queryParameters.get("session_id") else {
            throw MCPHTTPError(.badRequest, "Bad Request: the session_id query parameter is required")
        }
        guard let session = registry.session(id, of: caller, server: server.name) else { throw sessionNotFound(id) }
        var request = request
        let httpRequest = context.id  // formatted anew on each read
        let (value, body) = try await readMessage(&request, caller: caller, server: server.name, httpRequest: httpRequest)
        let posted = PostedMessages(value, body: body)
        if !posted.isBatch, let refusal = posted.refusals.first { return Self.refused(refusal) }
        // Answers go on the stream: the refusals too, as one batch.
        if !posted.refusals.isEmpty { session.stream.push(JSONRPCBatch.joining(posted.refusals)) }
        if !posted.messages.isEmpty { session.send(posted.messages, parsed: posted.admitted, httpRequest: httpRequest) }
        return Response(status: .accepted)
    }
}
