import NIOCore
import WardenMCP

/// Frames what a server writes into lines (the MCP stdio framing) on the event loop that
/// reads it, and hands each line to the session's stream of server messages. The stream ends
/// when the server closes its output.
final class LineFramingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private var framer: LineFramer
    private let messages: MessageQueue
    private var finished = false

    init(maxLineLength: Int, messages: MessageQueue) {
        self.framer = LineFramer(maxLineLength: maxLineLength)
        self.messages = messages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let lines = buffer.withUnsafeReadableBytes { framer.append($0) }
        for line in lines { messages.yield(line) }
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
