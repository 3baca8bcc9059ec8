import Synchronization
import WardenJSON
import WardenMCP

/// A session Warden set up itself (with its own `initialize`) with a stateful server, or with
/// every server of the aggregated endpoint, to serve one caller's stateless requests.
final class StatelessSession: Sendable {
    /// Where the requests go.
    enum Target: Sendable {
        case server(HTTPSession)
        case aggregate(AggregateSession)
    }

    let target: Target
    /// The capabilities from the `initialize` answer, for `server/discover`.
    let capabilities: JSONValue
    private let requests = Atomic<Int>(0)

    init(target: Target, capabilities: JSONValue) {
        self.target = target
        self.capabilities = capabilities
    }

    /// A fresh id for a forwarded request: stateless clients all start at 1.
    func nextID() -> JSONValue {
        .string("warden-stateless-\(requests.add(1, ordering: .relaxed).newValue)")
    }

    /// Sends one request (or notification) and returns the answer (`nil` for a notification).
    func exchange(_ message: JSONValue, timeout: Duration, httpRequest: String? = nil) async -> [UInt8]? {
        switch target {
        case .server(let session):
            let bytes = Array(JSONWriter.write(message).utf8)
            guard let id = message["id"] else {
                session.send([bytes], parsed: [message], httpRequest: httpRequest)
                return nil
            }
            return await session.exchange([bytes], parsed: [message], requests: [(RequestKey(id), id)], timeout: timeout, httpRequest: httpRequest)[0]
        case .aggregate(let aggregate):
            return await aggregate.handle(message, timeout: timeout, httpRequest: httpRequest ?? "")
        }
    }

    /// The `Mcp-Param-*` headers a call to `tool` must carry (`nil`: no such tool).
    func headerParameters(ofTool tool: String) async -> [MCPParamHeaders.Declaration]? {
        switch target {
        case .server(let session): return await session.headerParameters(ofTool: tool)
        case .aggregate(let aggregate):
            guard let (member, original) = aggregate.member(named: tool) else { return nil }
            return await member.headerParameters(ofTool: original)
        }
    }

    /// The session serving calls to tool `name`, and the tool's name there (without the
    /// server prefix of the aggregated endpoint); `nil` for a name no server has.
    func callee(of name: String) -> (HTTPSession, String)? {
        switch target {
        case .server(let session): (session, name)
        case .aggregate(let aggregate): aggregate.member(named: name)
        }
    }

    /// The sessions with servers behind it.
    var sessions: [HTTPSession] {
        switch target {
        case .server(let session): [session]
        case .aggregate(let aggregate): aggregate.members.map(\.session)
        }
    }

    var isClosed: Bool { sessions.contains(where: \.isClosed) }

    func isIdle(for timeout: Duration) -> Bool {
        sessions.allSatisfy { $0.isIdle(for: timeout) }
    }

    func close() {
        switch target {
        case .server(let session): session.close()
        case .aggregate(let aggregate): aggregate.close()
        }
    }
}
