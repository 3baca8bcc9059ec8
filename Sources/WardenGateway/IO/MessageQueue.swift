import Synchronization
public import WardenJSON
public import WardenMCP

/// One message as a ``MessageQueue`` hands it over.
public struct QueuedMessage: Sendable {
    /// The line as framed: the message's bytes, or the envelope of one over the size limit.
    public var line: LineFramer.Line
    /// What the line holds, when whoever queued it has read it already (a shared server reads
    /// its server's messages to route them), so that it is not read twice; `nil` otherwise.
    public var value: JSONValue?
}

/// The messages a server (or `warden run`'s client) sends, in order, from whoever reads them to
/// the one task that handles them. Not generic, so that taking a message out costs no runtime
/// type lookups; a message that is already waiting is taken without suspending.
public final class MessageQueue: AsyncSequence, Sendable {
    public typealias Element = QueuedMessage
    public typealias Failure = Never

    private struct State {
        var waiting: [QueuedMessage] = []
        var first = 0
        var consumer: UnsafeContinuation<QueuedMessage?, Never>?
        var finished = false

        /// The first waiting message, taken out.
        mutating func take() -> QueuedMessage? {
            guard first < waiting.count else { return nil }
            defer {
                first += 1
                if first == waiting.count {
                    waiting.removeAll(keepingCapacity: true)
                    first = 0
                }
            }
            return waiting[first]
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds a message, with its `value` when the caller has read it; dropped once the queue is
    /// finished.
    public func yield(_ line: LineFramer.Line, read value: JSONValue? = nil) {
        let message = QueuedMessage(line: line, value: value)
        let consumer = state.withLock { state -> UnsafeContinuation<QueuedMessage?, Never>? in
            guard !state.finished else { return nil }
            if let consumer = state.consumer {
                state.consumer = nil
                return consumer
            }
            state.waiting.append(message)
            return nil
        }
        consumer?.resume(returning: message)
    }

    /// Ends the queue: the consumer gets what waits, then the end.
    public func finish() {
        let consumer = state.withLock { state -> UnsafeContinuation<QueuedMessage?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: nil)
    }

    /// The next message; `nil` once the queue is finished and empty. One consumer only.
    public func next() async -> QueuedMessage? {
        enum Taken {
            case message(QueuedMessage)
            case end
            case none
        }
        let now = state.withLock { state -> Taken in
            if let line = state.take() { return .message(line) }
            return state.finished ? .end : .none
        }
        switch now {
        case .message(let line): return line
        case .end: return nil
        case .none: break
        }
        return await withUnsafeContinuation { continuation in
            let ready = state.withLock { state -> Taken in
                if let line = state.take() { return .message(line) }
                if state.finished { return .end }
                state.consumer = continuation
                return .none
            }
            switch ready {
            case .message(let line): continuation.resume(returning: line)
            case .end: continuation.resume(returning: nil)
            case .none: break
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: MessageQueue

        public mutating func next() async -> QueuedMessage? {
            await queue.next()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async -> QueuedMessage? {
            await queue.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: self)
    }
}
