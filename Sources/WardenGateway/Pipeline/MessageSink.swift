public import WardenJSON
public import WardenMCP
public import WardenStore

/// Where the pipeline sends everything that goes back to the client, answers included: a pipe
/// for `warden run` (``LineWriter``), an HTTP session for `warden serve` (`HTTPSession`, which
/// hands an answer to the POST waiting for it, or to the session's stream). Each call carries one
/// whole JSON-RPC message (or batch), without framing.
///
/// Public so that test doubles (`WardenTesting.RecordingSink`) can stand in for a client.
public protocol MessageSink: Sendable {
    /// Delivers one message; `false` if the client is gone.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool

    /// Request `id` is held for approval for up to `duration`: its answer will be late.
    func holding(_ id: JSONValue, for duration: Duration)

    /// Delivers a message about request `id` (progress, a question for the user): on that
    /// request's own stream where the transport has one.
    @discardableResult
    func write(_ message: [UInt8], about id: JSONValue) -> Bool

    /// The client cancelled request `id`, which gets no answer: a transport still waiting to
    /// answer it (an HTTP POST) lets go.
    func abandon(_ id: JSONValue)

    /// Request `id` waits for `approval` to be decided (a transport that asks the caller
    /// itself may do so now).
    func awaitingDecision(_ id: JSONValue, approval: Approval)

    /// When the client side stops waiting for the answer to request `id`; `nil` when it has
    /// no deadline (or no longer waits).
    func deadline(of id: JSONValue) -> ContinuousClock.Instant?

    /// Delivers `message`, the answer to the client's request `id` (whose key is `key`): to
    /// whoever waits for it where the transport has such a place (an HTTP POST), without
    /// reading the message again to find its id.
    @discardableResult
    func answer(_ message: [UInt8], to id: JSONValue, key: RequestKey) -> Bool

    /// Returns once the client can take more. While what was written to it waits unread past
    /// the transport's limit, the pipeline stops relaying the server's messages (and soon stops
    /// reading them: the server then waits in its own write), rather than piling them up.
    func waitUntilWritable() async
}

extension MessageSink {
    func holding(_ id: JSONValue, for duration: Duration) {}

    @discardableResult
    func write(_ message: [UInt8], about id: JSONValue) -> Bool {
        write(message)
    }

    func abandon(_ id: JSONValue) {}

    func awaitingDecision(_ id: JSONValue, approval: Approval) {}

    func deadline(of id: JSONValue) -> ContinuousClock.Instant? { nil }

    /// Never waits: the transport bounds what waits for the client itself.
    public func waitUntilWritable() async {}

    /// Writes the answer as any other message.
    @discardableResult
    public func answer(_ message: [UInt8], to id: JSONValue, key: RequestKey) -> Bool {
        write(message)
    }
}
