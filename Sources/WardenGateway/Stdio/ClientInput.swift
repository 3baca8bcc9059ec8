import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `warden run`'s client end: its standard input as lines, and its standard output. Streams
/// (a pipe, how MCP clients start servers; a socket; a terminal) are one NIO channel on the
/// event loop `warden run` works on, with no thread of its own and no hand-over: what the
/// client has not read yet waits in the channel, so a client slow to read never stops the
/// loop from reading. A regular file or a device like `/dev/null`, which an event loop cannot
/// watch, is read on a thread of its own (``FileDescriptorReader``) and written directly.
enum ClientInput {
    /// The client's messages, and the channel that writes its standard output (`nil` when
    /// `output` is not a stream, or shares no channel with `input`).
    struct Pipes {
        let lines: MessageQueue
        let output: (any Channel)?
    }

    static func open(input: Int32, output: Int32, on loop: any EventLoop, maxLineLength: Int) async -> Pipes {
        guard isStream(input) else {
            return Pipes(lines: FileDescriptorReader.lines(of: input, maxLineLength: maxLineLength), output: nil)
        }
        let lines = MessageQueue()
        let bootstrap = NIOPipeBootstrap(group: loop)
            // The client closing its input must not close its output: answers may still be due.
            .channelOption(.allowRemoteHalfClosure, value: true)
        // The initializer hands back the channel itself.
        let initialize: @Sendable (any Channel) -> EventLoopFuture<any Channel> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(LineFramingHandler(maxLineLength: maxLineLength, messages: lines))
                return channel
            }
        }
        do {
            if isStream(output) {
                let channel = try await bootstrap.takingOwnershipOfDescriptors(input: input, output: output, channelInitializer: initialize)
                return Pipes(lines: lines, output: channel)
            }
            _ = try await bootstrap.takingOwnershipOfDescriptor(input: input, channelInitializer: initialize)
            return Pipes(lines: lines, output: nil)
        } catch {
            // Refused, the descriptors are still Warden's.
            return Pipes(lines: FileDescriptorReader.lines(of: input, maxLineLength: maxLineLength), output: nil)
        }
    }

    /// Whether `descriptor` cannot seek: a pipe, a socket or a terminal, which epoll watches
    /// (files and devices such as `/dev/null` seek, and epoll refuses them).
    private static func isStream(_ descriptor: Int32) -> Bool {
        lseek(descriptor, 0, SEEK_CUR) == -1 && errno == ESPIPE
    }
}
