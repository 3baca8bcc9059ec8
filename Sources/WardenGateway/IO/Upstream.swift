import WardenJSON
import WardenMCP

/// A session's server, whatever reaches it: a child process's stdin and stdout, a shared
/// process, or a remote server over Streamable HTTP or HTTP+SSE. The session pipeline sends
/// it the client's messages and reads what it sends back, in order, from ``messages``.
///
/// Public so that test doubles (`WardenTesting.FakeUpstream`) can stand in for a server.
public protocol Upstream: Sendable {
    /// Sends one whole message (or batch) to the server. Returns once it is handed over,
    /// waiting only while the server's input is full; a server that is gone drops it.
    func send(_ message: [UInt8]) async
    /// The server's messages, in the order it sent them; the sequence ends when the server is
    /// gone (the process exited, the remote session ended). Iterated once, by the pipeline.
    var messages: MessageQueue { get }
    /// Ends the connection: the server should stop serving this session.
    func stop()
    /// Whether the upstream is done: the process has exited, the remote session has ended.
    var isFinished: Bool { get }
}

/// Where an upstream that is not a process of its own (a remote server, a session of a shared
/// process) puts what its server sends, for ``Upstream/messages``: messages as they arrive,
/// and answers made up for requests the server could not take.
struct UpstreamMailbox: Sendable {
    let messages = MessageQueue()
    private let serverName: String

    init(serverName: String) {
        self.serverName = serverName
    }

    /// A message from the server, with its `value` when the upstream has read it.
    func deliver(_ message: [UInt8], read value: JSONValue? = nil) {
        messages.yield(.message(message), read: value)
    }

    /// The server could not take or answer `request` (unreachable, an HTTP error, a process
    /// that could not start): it gets -32603 saying `what` happened, read by the pipeline as if
    /// the server had sent it. A message that expects no answer gets none.
    func fail(_ request: MessageEnvelope, because what: String) {
        guard request.hasMethod, let id = request.id else { return }
        deliver(JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: "The server \(serverName) \(what)"))
    }

    /// The connection has ended: no more messages.
    func finish() {
        messages.finish()
    }
}
