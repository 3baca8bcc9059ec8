import Foundation
import WardenMCP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor on a thread of its own, so blocking reads never occupy the Swift
/// concurrency pool.
enum FileDescriptorReader {
    /// Reads `descriptor`, splits what it reads into lines and calls `handle` with each, on
    /// the reading thread, in order; returns at end of file (or on a read error). Handling a
    /// line where it was read saves a hand-off between threads per message.
    static func lines(
        of descriptor: Int32,
        maxLineLength: Int,
        chunkSize: Int = 64 * 1024,
        handle: @escaping @Sendable (LineFramer.Line) -> Void
    ) async {
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                var framer = LineFramer(maxLineLength: maxLineLength)
                var buffer = [UInt8](repeating: 0, count: chunkSize)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunkSize) }
                    if count > 0 {
                        framer.append(buffer[0..<count]).forEach(handle)
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                framer.finish().map(handle)
                finished.resume()
            }
            thread.start()
        }
    }
}
