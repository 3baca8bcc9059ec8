import Logging
import Synchronization

/// What a session sends its client besides answers to POSTs (requests and notifications from
/// servers): the session's open GET stream, or a backlog that waits for one to open.
///
/// Every message gets an event id, increasing through the session. The latest messages sent
/// on a stream are kept (up to 256, and 1 MiB), so a client whose connection dropped can
/// reopen the stream with `Last-Event-ID` and get again what it may have missed.
final class ClientStream: Sendable {
    /// One event: a message and its id, or (`id` nil, empty message) a keep-alive.
    struct Event: Sendable {
        var id: Int?
        var message: [UInt8]
    }

    private static let backlogLimit = 1000
    private static let replayLimit = (count: 256, bytes: 1024 * 1024)
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var continuation: AsyncStream<Event>.Continuation?
        /// Messages waiting for a stream to open.
        var backlog: [Event] = []
        /// The latest messages sent on a stream, oldest first, for resumption.
        var sent: [Event] = []
        var sentBytes = 0
        var nextID = 1
        var ended = false

        mutating func remember(_ event: Event) {
            sent.append(event)
            sentBytes += event.message.count
            var dropped = 0
            while sent.count - dropped > ClientStream.replayLimit.count || sentBytes > ClientStream.replayLimit.bytes {
                sentBytes -= sent[dropped].message.count
                dropped += 1
            }
            if dropped > 0 { sent.removeFirst(dropped) }
        }
    }

    init(logger: Logger) {
        self.logger = logger
    }

    /// Sends `message` on the stream, or keeps it until one opens; `false` once ended.
    @discardableResult
    func push(_ message: [UInt8]) -> Bool {
        state.withLock { state in
            if state.ended { return false }
            let event = Event(id: state.nextID, message: message)
            state.nextID += 1
            if let continuation = state.continuation, case .enqueued = continuation.yield(event) {
                state.remember(event)
                return true
            }
            if state.backlog.count < Self.backlogLimit {
                state.backlog.append(event)
            } else {
                logger.warning("dropped a server message: no GET stream is open and \(Self.backlogLimit) are waiting")
            }
            return true
        }
    }

    /// Opens the stream: the messages sent after event `lastEventID` that are still kept (when
    /// the client resumes), then those that waited for it. `nil` when one is open already or
    /// the session has ended.
    func open(resumingAfter lastEventID: Int? = nil) -> AsyncStream<Event>? {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let opened = state.withLock { state -> Bool in
            guard state.continuation == nil, !state.ended else { return false }
            state.continuation = continuation
            if let lastEventID {
                if let oldest = state.sent.first?.id, oldest > lastEventID + 1 {
                    logger.info("a resumed stream missed events no longer kept", metadata: ["after": "\(lastEventID)", "oldest": "\(oldest)"])
                }
                for event in state.sent where event.id.map({ $0 > lastEventID }) ?? false { continuation.yield(event) }
            }
            for event in state.backlog {
                continuation.yield(event)
                state.remember(event)
            }
            state.backlog.removeAll()
            return true
        }
        guard opened else { return nil }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { $0.continuation = nil }
        }
        return stream
    }

    /// An empty message: the writer sends a keep-alive comment, so an idle connection stays
    /// open and a client that left is noticed.
    func keepAlive() {
        state.withLock { state in _ = state.continuation?.yield(Event(id: nil, message: [])) }
    }

    /// The client left: the stream ends; later messages wait for the next one.
    func close() {
        let continuation = state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.finish()
    }

    /// Whether a client holds the stream open now.
    var isOpen: Bool { state.withLock { $0.continuation != nil } }

    /// The session ended: the stream ends and nothing more is kept.
    func end() {
        let continuation = state.withLock { state in
            defer {
                state.ended = true
                state.continuation = nil
                state.backlog.removeAll()
                state.sent.removeAll()
            }
            return state.continuation
        }
        continuation?.finish()
    }
}
