import Logging
import NIOCore
import Synchronization

/// `warden run`'s standard output, where the pipeline's messages to the client go. It writes
/// to the descriptor itself (``LineWriter``) unless the client's pipes are on the event loop
/// (``ClientInput``); then through that channel, so that a write never blocks the loop: what
/// the client has not read yet waits in the channel, in order.
final class ClientOutput: MessageSink {
    /// How much may wait for the client to read it before Warden stops reading the client's
    /// requests (and resumes below the low mark): bounded memory for a client that never reads,
    /// room for one that writes many requests before reading their answers.
    static let waitingLimit = ChannelOptions.Types.WriteBufferWaterMark(low: 4 << 20, high: 16 << 20)

    private let descriptor: LineWriter
    private struct State {
        var channel: (any Channel)?
        /// Writes handed to the loop from other threads that it has not made yet: a write on
        /// the loop waits behind them, so that writes reach the client in the order made.
        var handedOver = 0
    }
    private let state = Mutex(State())

    init(descriptor: Int32) {
        self.descriptor = LineWriter(descriptor: descriptor)
    }

    /// Writes through `channel` from now on.
    func attach(_ channel: any Channel) {
        state.withLock { $0.channel = channel }
    }

    /// Writes `message` and a newline; `false` once the client's output is closed or broken.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool {
        state.withLock { state in
            guard let channel = state.channel else { return descriptor.write(message) }
            guard channel.isActive else { return false }
            let buffer = channel.allocator.line(message)
            if state.handedOver == 0 && channel.eventLoop.inEventLoop {
                channel.writeAndFlush(buffer, promise: nil)
            } else {
                state.handedOver += 1
                channel.eventLoop.execute { [buffer] in
                    self.state.withLock { state in
                        state.handedOver -= 1
                        channel.writeAndFlush(buffer, promise: nil)
                    }
                }
            }
            return true
        }
    }

    /// Past ``waitingLimit`` unread, waits until the client has read everything written so far
    /// (or its output is closed).
    func waitUntilWritable() async {
        guard let channel = state.withLock({ $0.channel }), !channel.isWritable, channel.isActive else { return }
        // An empty write completes once every write before it has.
        try? await channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).get()
    }

    /// Waits, at most `limit`, until everything written so far has reached the client or
    /// failed to (an empty write completes after every write before it).
    /// - Returns: `false` when the client had not read it all in time.
    func drain(within limit: Duration) async -> Bool {
        guard let channel = state.withLock({ $0.channel }) else { return true }
        let loop = channel.eventLoop
        let outcome = loop.makePromise(of: Bool.self)
        loop.execute {
            // Whichever comes first, the empty write done or the time up, settles it.
            let settled = NIOLoopBoundBox(false, eventLoop: loop)
            @Sendable func settle(_ drained: Bool) {
                guard !settled.value else { return }
                settled.value = true
                outcome.succeed(drained)
            }
            let timer = loop.scheduleTask(in: .seconds(limit.components.seconds)) { settle(false) }
            channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in
                timer.cancel()
                settle(true)
            }
        }
        return (try? await outcome.futureResult.get()) ?? false
    }
}
