import Dispatch
import Foundation
import WardenMCP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads `warden run`'s standard input on a thread of its own when it is a regular file or
/// `/dev/null`, which an event loop cannot watch (pipes are read on NIO's event loops, see
/// ``ClientInput``); blocking reads there never occupy the Swift concurrency pool. Like a pipe,
/// the file is read only while its queue has room: the thread waits while it is full.
enum FileDescriptorReader {
    /// The lines read from `descriptor`, in order, until end of file (or a read error).
    static func lines(of descriptor: Int32, maxLineLength: Int, chunkSize: Int = 64 * 1024) -> MessageQueue {
        let lines = MessageQueue()
        let drained = DispatchSemaphore(value: 0)
        lines.whenDrained { drained.signal() }
        let thread = Thread {
            var framer = LineFramer(maxLineLength: maxLineLength)
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunkSize) }
                if count > 0 {
                    for line in framer.append(buffer[0..<count]) {
                        // A full queue: wait until the handler has taken most of it.
                        if !lines.yield(line) { drained.wait() }
                    }
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            if let last = framer.finish() { lines.yield(last) }
            lines.finish()
        }
        thread.start()
        return lines
    }
}
