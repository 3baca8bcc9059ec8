import NIOCore
import NIOPosix

// `stat` and its fields are declared there too on Linux; a whole-module build asks for it.
#if canImport(CoreFoundation)
import CoreFoundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `warden run`'s client end: its standard input as lines, and its standard output. A pipe or
/// a socket (how MCP clients start servers) is read and written as one NIO channel on the event
/// loop `warden run` works on, with no thread of its own and no hand-over; answers the client
/// has not read yet wait in the channel (up to ``ClientOutput/waitingLimit``, when Warden stops
/// reading the client until it catches up, see ``LineFramingHandler``), so a client slow to
/// read never stops the loop.
///
/// The event loop makes what it watches non-blocking, and that flag belongs to the open file,
/// shared by every descriptor of it. So a terminal (which the shell and the server's stderr
/// share), a stdout that is also stderr (`2>&1`), and a regular file or a device like
/// `/dev/null` (which an event loop cannot watch) stay as they are: read on a thread of their
/// own (``FileDescriptorReader``), written directly (``LineWriter``).
enum ClientInput {
    /// The client's messages, and the channel that writes its standard output (`nil` when
    /// stdout is written directly).
    struct Pipes {
        let lines: MessageQueue
        let output: (any Channel)?
    }

    static func open(input: Int32, output: Int32, on loop: any EventLoop, maxLineLength: Int) async -> Pipes {
        guard isWatchable(input) else {
            return Pipes(lines: FileDescriptorReader.lines(of: input, maxLineLength: maxLineLength), output: nil)
        }
        let lines = MessageQueue()
        let bootstrap = NIOPipeBootstrap(group: loop)
            // The client closing its input must not close its output: answers may still be due.
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.writeBufferWaterMark, value: ClientOutput.waitingLimit)
        // The initializer hands back the channel itself.
        let initialize: @Sendable (any Channel) -> EventLoopFuture<any Channel> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    LineFramingHandler(maxLineLength: maxLineLength, messages: lines, readsOnlyWhileWritable: true))
                return channel
            }
        }
        do {
            if isWatchable(output) && !isSameFile(output, as: STDERR_FILENO) {
                let channel = try await bootstrap.takingOwnershipOfDescriptors(input: input, output: output, channelInitializer: initialize)
                return Pipes(lines: lines, output: channel)
            }
            _ = try await bootstrap.takingOwnershipOfDescriptor(input: input, channelInitializer: initialize)
            return Pipes(lines: lines, output: nil)
        } catch {
            // NIO refused the descriptors before taking them (it closes those it took).
            return Pipes(lines: FileDescriptorReader.lines(of: input, maxLineLength: maxLineLength), output: nil)
        }
    }

    /// Whether `descriptor` is a pipe or a socket, which epoll watches and nothing else shares.
    private static func isWatchable(_ descriptor: Int32) -> Bool {
        guard let kind = status(of: descriptor).map({ $0.st_mode & S_IFMT }) else { return false }
        return kind == S_IFIFO || kind == S_IFSOCK
    }

    /// Whether the two descriptors name the same file (the same pipe, for `2>&1`).
    private static func isSameFile(_ descriptor: Int32, as other: Int32) -> Bool {
        guard let first = status(of: descriptor), let second = status(of: other) else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    /// `fstat(2)` of `descriptor`; `nil` when it is not open.
    private static func status(of descriptor: Int32) -> stat? {
        withUnsafeTemporaryAllocation(of: stat.self, capacity: 1) { buffer in
            fstat(descriptor, buffer.baseAddress!) == 0 ? buffer[0] : nil
        }
    }
}
