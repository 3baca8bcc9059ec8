import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `warden run`'s standard input, as lines. A stream (a pipe, how MCP clients start servers; a
/// socket; a terminal) is read on the event loop `warden run` works on, with no thread of its
/// own and no hand-over; a regular file or a device like `/dev/null`, which an event loop
/// cannot watch, on a thread of its own (``FileDescriptorReader``).
enum ClientInput {
    static func lines(of descriptor: Int32, on loop: any EventLoop, maxLineLength: Int) async -> MessageQueue {
        let lines = MessageQueue()
        guard isStream(descriptor) else { return FileDescriptorReader.lines(of: descriptor, maxLineLength: maxLineLength) }
        do {
            _ = try await NIOPipeBootstrap(group: loop).takingOwnershipOfDescriptor(input: descriptor) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineFramingHandler(maxLineLength: maxLineLength, messages: lines))
                }
            }
            return lines
        } catch {
            // Refused, the descriptor is still Warden's.
            return FileDescriptorReader.lines(of: descriptor, maxLineLength: maxLineLength)
        }
    }

    /// Whether `descriptor` cannot seek: a pipe, a socket or a terminal, which epoll watches
    /// (files and devices such as `/dev/null` seek, and epoll refuses them).
    private static func isStream(_ descriptor: Int32) -> Bool {
        lseek(descriptor, 0, SEEK_CUR) == -1 && errno == ESPIPE
    }
}
