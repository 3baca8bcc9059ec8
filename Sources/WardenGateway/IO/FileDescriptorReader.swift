import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor on a thread of its own and delivers what it reads as a stream of
/// chunks, so blocking reads never occupy the Swift concurrency pool. The stream ends at
/// end of file or on a read error.
enum FileDescriptorReader {
    static func chunks(of descriptor: Int32, chunkSize: Int = 64 * 1024) -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: chunkSize)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunkSize) }
                    if count > 0 {
                        continuation.yield(Array(buffer[0..<count]))
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                continuation.finish()
            }
            thread.start()
        }
    }
}
