public import WardenGateway
public import WardenJSON
public import WardenStore

/// A client for the session pipeline to write to, in memory: it records every message and
/// every notice the pipeline gives it (a call held, abandoned, awaiting a decision), in order,
/// and lets the test wait for the next one.
///
/// ```swift
/// let client = RecordingSink()
/// // ... the pipeline answers a call ...
/// let answer = try await client.nextMessage()
/// ```
public final class RecordingSink: MessageSink {
    /// One thing the pipeline told the client.
    public enum Event: Sendable, Equatable {
        /// A message for the client (``write(_:)``).
        case message([UInt8])
        /// A message about request `id` (``write(_:about:)``): progress, a question.
        case messageAbout([UInt8], id: JSONValue)
        /// Request `id` is held for approval for up to the duration.
        case holding(JSONValue, Duration)
        /// The client's request `id` gets no answer (it cancelled it).
        case abandoned(JSONValue)
        /// Request `id` waits for the approval with this id.
        case awaitingDecision(JSONValue, approval: String)

        /// The message, for the two kinds that carry one.
        public var message: [UInt8]? {
            switch self {
            case .message(let bytes), .messageAbout(let bytes, _): bytes
            default: nil
            }
        }
    }

    struct State: Sendable {
        var events: [Event] = []
        var readMessages = 0
        var gone = false
        var deadlines: [RequestKeyText: ContinuousClock.Instant] = [:]
    }

    /// A request id as a dictionary key (its JSON text).
    typealias RequestKeyText = String

    private let state = Watched(State())

    /// A client that takes every message.
    public init() {}

    // MARK: - The pipeline's side

    @discardableResult
    public func write(_ message: [UInt8]) -> Bool {
        record(.message(message))
    }

    @discardableResult
    public func write(_ message: [UInt8], about id: JSONValue) -> Bool {
        record(.messageAbout(message, id: id))
    }

    public func holding(_ id: JSONValue, for duration: Duration) {
        record(.holding(id, duration))
    }

    public func abandon(_ id: JSONValue) {
        record(.abandoned(id))
    }

    public func awaitingDecision(_ id: JSONValue, approval: Approval) {
        record(.awaitingDecision(id, approval: approval.id))
    }

    public func deadline(of id: JSONValue) -> ContinuousClock.Instant? {
        state.value.deadlines[JSONWriter.write(id)]
    }

    @discardableResult
    private func record(_ event: Event) -> Bool {
        state.change { state in
            guard !state.gone else { return false }
            state.events.append(event)
            return true
        }
    }

    // MARK: - The test's side

    /// Everything the pipeline told the client, in order.
    public var events: [Event] {
        state.value.events
    }

    /// Every message the client got (about a request or not), in order.
    public var messages: [[UInt8]] {
        state.value.events.compactMap(\.message)
    }

    /// The next message the test has not taken yet, waiting (up to `limit` of real time) for it.
    public func nextMessage(limit: Duration = .seconds(10)) async throws -> [UInt8] {
        let message = try await state.wait(for: "a message to the client", limit: limit) { state -> (Int, [UInt8])? in
            let messages = state.events.compactMap(\.message)
            return messages.count > state.readMessages ? (state.readMessages, messages[state.readMessages]) : nil
        }
        state.change { $0.readMessages = max($0.readMessages, message.0 + 1) }
        return message.1
    }

    /// Waits for the first event `matches` accepts (one already recorded included), and returns it.
    @discardableResult
    public func event(
        _ what: String = "an event", limit: Duration = .seconds(10), where matches: @escaping @Sendable (Event) -> Bool
    ) async throws -> Event {
        try await state.wait(for: what, limit: limit) { $0.events.first(where: matches) }
    }

    /// The client goes away: every write from now on fails (returns `false`) and is not recorded.
    public func disconnect() {
        state.change { $0.gone = true }
    }

    /// Sets when the client side stops waiting for the answer to request `id` (an HTTP
    /// request's deadline), as ``deadline(of:)`` reports it.
    public func setDeadline(_ deadline: ContinuousClock.Instant?, for id: JSONValue) {
        state.change { $0.deadlines[JSONWriter.write(id)] = deadline }
    }
}
