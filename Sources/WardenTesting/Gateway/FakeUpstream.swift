public import WardenGateway
public import WardenJSON
public import WardenMCP

/// A server for the session pipeline to talk to, in memory: it records every message the
/// pipeline sends it, answers requests by method when told how, and sends whatever the test
/// pushes. ``die()`` makes it vanish as a crashed process would.
///
/// ```swift
/// let server = FakeUpstream()
/// server.answer("tools/list") { _ in .result(["tools": [["name": "echo"]]]) }
/// // ... the pipeline forwards a call ...
/// let call = try await server.nextSent()            // the call, under Warden's id
/// server.push(#"{"jsonrpc":"2.0","id":1,"result":{}}"#)
/// ```
public final class FakeUpstream: Upstream {
    /// How the fake answers a request of a method it was told to answer.
    public enum Answer: Sendable {
        /// `{"result": ...}`.
        case result(JSONValue)
        /// `{"error": {"code": ..., "message": ...}}`.
        case error(code: Int, message: String)
        /// No answer: the request is only recorded.
        case none
    }

    /// Makes the answer to one request (the whole request, as parsed).
    public typealias Responder = @Sendable (JSONValue) -> Answer

    struct State: Sendable {
        var sent: [[UInt8]] = []
        var read = 0
        var responders: [String: Responder] = [:]
        var finished = false
        var stopped = false
    }

    public let messages = MessageQueue()
    private let state = Watched(State())

    /// A server that answers nothing until told to.
    public init() {}

    // MARK: - The pipeline's side

    /// Records `message`, and answers each request in it whose method has a responder (a
    /// batch with a batch). Once the server is gone, the message is dropped.
    public func send(_ message: [UInt8]) async {
        let responders = state.change { state -> [String: Responder]? in
            guard !state.finished else { return nil }
            state.sent.append(message)
            return state.responders
        }
        guard let responders, !responders.isEmpty, let value = try? JSONReader.parse(message) else { return }
        switch value {
        case .array(let elements):
            let answers = elements.compactMap { Self.answer($0, responders: responders) }
            if !answers.isEmpty { push(.array(answers)) }
        default:
            if let answer = Self.answer(value, responders: responders) { push(answer) }
        }
    }

    public func stop() {
        state.change { $0.stopped = true }
        die()
    }

    public var isFinished: Bool {
        state.value.finished
    }

    // MARK: - The test's side

    /// Answers every later request of `method` with what `responder` makes of it.
    public func answer(_ method: String, with responder: @escaping Responder) {
        state.change { $0.responders[method] = responder }
    }

    /// Sends the pipeline one message (or batch), as the server would.
    public func push(_ message: [UInt8]) {
        messages.yield(.message(message))
    }

    /// Sends the pipeline one message, as text.
    public func push(_ message: String) {
        push(Array(message.utf8))
    }

    /// Sends the pipeline one message, encoded.
    public func push(_ message: JSONValue) {
        push(Array(JSONWriter.write(message).utf8))
    }

    /// Sends the pipeline what the server sends when a line is over the size limit.
    public func pushTooLong(_ envelope: MessageEnvelope) {
        messages.yield(.tooLong(envelope))
    }

    /// The server is gone (its process died): ``messages`` ends after what was already
    /// pushed, and what the pipeline sends from now on is dropped.
    public func die() {
        state.change { $0.finished = true }
        messages.finish()
    }

    /// Whether the pipeline called ``stop()``.
    public var wasStopped: Bool {
        state.value.stopped
    }

    /// Every message the pipeline sent, in order.
    public var sent: [[UInt8]] {
        state.value.sent
    }

    /// The next message the pipeline sent that the test has not taken yet, waiting (up to
    /// `limit` of real time) for it.
    public func nextSent(limit: Duration = .seconds(10)) async throws -> [UInt8] {
        let index = try await state.wait(for: "a message to the server", limit: limit) { state in
            state.sent.count > state.read ? state.read : nil
        }
        return state.change { state in
            state.read = max(state.read, index + 1)
            return state.sent[index]
        }
    }

    /// Waits until the pipeline has sent `count` messages in all; returns them.
    @discardableResult
    public func waitForSent(_ count: Int, limit: Duration = .seconds(10)) async throws -> [[UInt8]] {
        try await state.wait(for: "\(count) messages to the server", limit: limit) { $0.sent.count >= count ? $0.sent : nil }
    }

    /// The answer to `request` (an object) made by its method's responder, if it is a request
    /// and has one.
    static func answer(_ request: JSONValue, responders: [String: Responder]) -> JSONValue? {
        guard case .string(let method)? = request["method"], let id = request["id"], let responder = responders[method] else {
            return nil
        }
        switch responder(request) {
        case .result(let result): return ["jsonrpc": "2.0", "id": id, "result": result]
        case .error(let code, let message):
            return ["jsonrpc": "2.0", "id": id, "error": ["code": .number(JSONNumber(code)), "message": .string(message)]]
        case .none: return nil
        }
    }
}
