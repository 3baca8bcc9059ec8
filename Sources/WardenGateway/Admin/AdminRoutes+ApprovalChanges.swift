import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import WardenMCP
import WardenStore

/// `GET /admin/api/approvals/changes`: an event stream with the id of each approval created,
/// decided or closed by any instance, as the store announces them (PostgreSQL's
/// LISTEN/NOTIFY). The dashboard listens to it to show calls held anywhere as they arrive; a
/// store that announces nothing (SQLite) answers 404, and the dashboard polls instead.
extension AdminRoutes {
    func addApprovalChanges(to router: Router<GatewayRequestContext>) {
        router.get("/admin/api/approvals/changes") { request, _ in
            _ = try await self.admin(request, needs: .viewer)
            guard let changes = self.store.approvals.changes() else {
                throw AdminAPIError(.notFound, "Not Found: this state store does not announce changes; poll /admin/api/approvals")
            }
            return Self.eventStream(of: changes)
        }
    }

    /// Each id as an `approval` event, a keep-alive comment every 15 seconds, until the client
    /// leaves, the store ends the stream, or the gateway shuts down.
    static func eventStream(of changes: AsyncStream<String>) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (events, continuation) = AsyncStream<[UInt8]>.makeStream()
            let relay = Task {
                for await id in changes { continuation.yield(ServerSentEvents.event(data: Array(id.utf8), type: "approval")) }
                continuation.finish()
            }
            let ticker = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(15))
                    continuation.yield(ServerSentEvents.keepAlive)
                }
            }
            defer {
                relay.cancel()
                ticker.cancel()
            }
            try await writer.write(ByteBuffer(bytes: ServerSentEvents.keepAlive))
            await withGracefulShutdownHandler {
                for await event in events {
                    if (try? await writer.write(ByteBuffer(bytes: event))) == nil { return }
                }
            } onGracefulShutdown: {
                continuation.finish()
            }
            try await writer.finish(nil)
        })
    }
}
