import NIOCore
import WardenMCP

/// Frames what a peer writes into lines (the MCP stdio framing) on the event loop that reads
/// it, and hands each line to its queue (a server's messages, or `warden run`'s client's). The
/// queue ends when the peer closes its output.
///
/// Reading stops while the queue is full (``MessageQueue/isFull``) and, for the client's pipes,
/// while what was written to them waits unread past the channel's high mark (the client is
/// not reading its answers): the peer then waits in its own write, not in Warden's memory.
final class LineFramingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var framer: LineFramer
    private let messages: MessageQueue
    private let readsOnlyWhileWritable: Bool
    private var finished = false

    /// - Parameter readsOnlyWhileWritable: Whether reading also stops while the channel is not
    ///   writable (the client's pipes: its requests wait while its answers do).
    init(maxLineLength: Int, messages: MessageQueue, readsOnlyWhileWritable: Bool = false) {
        self.framer = LineFramer(maxLineLength: maxLineLength)
        self.messages = messages
        self.readsOnlyWhileWritable = readsOnlyWhileWritable
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        messages.whenDrained { [messages, readsOnlyWhileWritable] in
            channel.eventLoop.execute { Self.updateReading(channel, messages: messages, readsOnlyWhileWritable: readsOnlyWhileWritable) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let lines = buffer.withUnsafeReadableBytes { framer.append($0) }
        var mayGoOn = true
        for line in lines {
            if !messages.yield(line) { mayGoOn = false }
        }
        if !mayGoOn { Self.updateReading(context.channel, messages: messages, readsOnlyWhileWritable: readsOnlyWhileWritable) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if readsOnlyWhileWritable { Self.updateReading(context.channel, messages: messages, readsOnlyWhileWritable: true) }
        context.fireChannelWritabilityChanged()
    }

    /// Reads on or stops, as the queue and the channel's writability now say. Run on the
    /// channel's loop, where it reads both afresh: calls made in any order leave the right state.
    private static func updateReading(_ channel: any Channel, messages: MessageQueue, readsOnlyWhileWritable: Bool) {
        let read = !messages.isFull && (!readsOnlyWhileWritable || channel.isWritable)
        // Turning reading back on reads at once.
        channel.setOption(ChannelOptions.autoRead, value: read).whenComplete { _ in }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { finish() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A broken pipe to the server's stdin: its output may still have messages to read.
        context.fireErrorCaught(error)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        if let last = framer.finish() { messages.yield(last) }
        messages.finish()
    }
}
