import NIOCore
import Synchronization

/// `warden run`'s standard output, where the pipeline's messages to the client go. It writes
/// to the descriptor itself (``LineWriter``) until the client's pipes are on the event loop
/// (``ClientInput``); a stream is then written through that channel, so that a write never
/// blocks the loop: what the client has not read yet waits in the channel, in order.
final class ClientOutput: MessageSink {
    private let descriptor: LineWriter
    private let channel = Mutex<(any Channel)?>(nil)

    init(descriptor: Int32) {
        self.descriptor = LineWriter(descriptor: descriptor)
    }

    /// Writes through `channel` from now on.
    func attach(_ channel: any Channel) {
        self.channel.withLock { $0 = channel }
    }

    /// Writes `message` and a newline; `false` once the client's output is closed or broken.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool {
        self.channel.withLock { channel in
            guard let channel else { return descriptor.write(message) }
            guard channel.isActive else { return false }
            var buffer = channel.allocator.buffer(capacity: message.count + 1)
            buffer.writeBytes(message)
            buffer.writeInteger(UInt8(ascii: "\n"))
            // Under the lock, so writes from several tasks reach the channel in the order made.
            channel.writeAndFlush(buffer, promise: nil)
            return true
        }
    }

    /// Waits until everything written so far has reached the client, or failed to: an empty
    /// write completes after every write before it.
    func drain() async {
        guard let channel = channel.withLock({ $0 }) else { return }
        try? await channel.writeAndFlush(channel.allocator.buffer(capacity: 0))
    }
}
