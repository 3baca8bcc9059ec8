import Logging
import Synchronization

/// What a session sends its client besides answers to POSTs (requests and notifications from
/// servers): the session's open GET stream, or a backlog that waits for one to open.
final class ClientStream: Sendable {
    private static let backlogLimit = 1000
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var continuation: AsyncStream<[UInt8]>.Continuation?
        var backlog: [[UInt8]] = []
        var ended = false
    }

    init(logger: Logger) {
        self.logger = logger
    }

    /// Sends `message` on the stream, or keeps it until one opens; `false` once ended.
    @discardableResult
    func push(_ message: [UInt8]) -> Bool {
        state.withLock { state in
            if state.ended { return false }
            if let continuation = state.continuation, case .enqueued = continuation.yield(message) { return true }
            if state.backlog.count < Self.backlogLimit {
                state.backlog.append(message)
            } else {
                logger.warning("dropped a server message: no GET stream is open and \(Self.backlogLimit) are waiting")
            }
            return true
        }
    }

    /// Opens the stream, with the messages that waited for it; `nil` when one is open already
    /// or the session has ended.
    func open() -> AsyncStream<[UInt8]>? {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let opened = state.withLock { state -> Bool in
            guard state.continuation == nil, !state.ended else { return false }
            state.continuation = continuation
            for message in state.backlog { continuation.yield(message) }
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
        state.withLock { state in _ = state.continuation?.yield([]) }
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
            }
            return state.continuation
        }
        continuation?.finish()
    }
}
