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
///
/// Bounded: once more than ``highWaterBytes`` wait, ``yield(_:read:)`` tells the reader to stop
/// reading, and the queue calls it back (``whenDrained(_:)``) once the handler has taken them
/// down to ``lowWaterBytes``. A peer that sends faster than its messages are handled then waits
/// in its own write, not in Warden's memory.
public final class MessageQueue: AsyncSequence, Sendable {
    public typealias Element = QueuedMessage
    public typealias Failure = Never

    /// How many bytes may wait before the reader is told to stop.
    public static let highWaterBytes = 4 << 20
    /// How few bytes must be left waiting before the reader is told to go on.
    public static let lowWaterBytes = 1 << 20

    private struct State {
        var waiting: [QueuedMessage] = []
        var first = 0
        var consumer: UnsafeContinuation<QueuedMessage?, Never>?
        var finished = false
        /// The bytes of the messages waiting.
        var waitingBytes = 0
        /// Whether the reader was told to stop and not yet to go on.
        var readerStopped = false
        var drained: (@Sendable () -> Void)?

        /// The first waiting message, taken out, and whether the reader, told to stop, may now
        /// go on.
        mutating func take() -> (message: QueuedMessage, readerMayGoOn: Bool)? {
            guard first < waiting.count else { return nil }
            let message = waiting[first]
            waiting[first] = QueuedMessage(line: .message([]), value: nil)  // its bytes go now
            first += 1
            if first == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                first = 0
            }
            waitingBytes -= message.line.byteCount
            guard readerStopped && waitingBytes <= MessageQueue.lowWaterBytes else { return (message, false) }
            readerStopped = false
            return (message, true)
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds a message, with its `value` when the caller has read it; dropped once the queue is
    /// finished.
    /// - Returns: `false` when the reader should stop reading until ``whenDrained(_:)``'s call.
    @discardableResult
    public func yield(_ line: LineFramer.Line, read value: JSONValue? = nil) -> Bool {
        let message = QueuedMessage(line: line, value: value)
        let (consumer, mayGoOn) = state.withLock { state -> (UnsafeContinuation<QueuedMessage?, Never>?, Bool) in
            guard !state.finished else { return (nil, true) }
            if let consumer = state.consumer {
                state.consumer = nil
                return (consumer, true)
            }
            state.waiting.append(message)
            state.waitingBytes += line.byteCount
            if state.waitingBytes > Self.highWaterBytes { state.readerStopped = true }
            return (nil, !state.readerStopped)
        }
        consumer?.resume(returning: message)
        return mayGoOn
    }

    /// Calls `body` (on the handler's thread) whenever the reader, told to stop, may go on.
    public func whenDrained(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.drained = body }
    }

    /// Whether the reader was told to stop and may not go on yet.
    public var isFull: Bool {
        state.withLock(\.readerStopped)
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
        let (now, drained) = state.withLock { state -> (Taken, (@Sendable () -> Void)?) in
            if let (message, readerMayGoOn) = state.take() { return (.message(message), readerMayGoOn ? state.drained : nil) }
            return (state.finished ? .end : .none, nil)
        }
        drained?()
        switch now {
        case .message(let message): return message
        case .end: return nil
        case .none: break
        }
        return await withUnsafeContinuation { continuation in
            let (ready, drained) = state.withLock { state -> (Taken, (@Sendable () -> Void)?) in
                if let (message, readerMayGoOn) = state.take() { return (.message(message), readerMayGoOn ? state.drained : nil) }
                if state.finished { return (.end, nil) }
                state.consumer = continuation
                return (.none, nil)
            }
            drained?()
            switch ready {
            case .message(let message): continuation.resume(returning: message)
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

extension LineFramer.Line {
    /// The bytes it holds (none for a line over the limit, whose bytes were dropped).
    fileprivate var byteCount: Int {
        if case .message(let bytes) = self { bytes.count } else { 0 }
    }
}
