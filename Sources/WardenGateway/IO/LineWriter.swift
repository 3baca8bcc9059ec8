import Foundation
import NIOCore
import Synchronization
import WardenJSON
import WardenMCP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes newline-terminated messages to a file descriptor, whole and one at a time, from
/// any task. A closed peer makes writes fail quietly (the caller learns it from `write`'s result).
final class LineWriter: MessageSink {
    private let descriptor: Mutex<Int32?>

    init(descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    /// Writes `message` and a newline; `false` if the descriptor is closed or broken.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool {
        let bytes = Self.line(message)
        return descriptor.withLock { descriptor in
            guard let fd = descriptor else { return false }
            return Self.writeSome(bytes[...], to: fd) == bytes.count
        }
    }

    /// `message` and the newline that ends it.
    static func line(_ message: [UInt8]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(message.count + 1)
        bytes.append(contentsOf: message)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Writes as much of `bytes` as `fd` takes now (all of it, unless the descriptor is
    /// non-blocking and full): the count, or `nil` if the descriptor is broken.
    static func writeSome(_ bytes: ArraySlice<UInt8>, to fd: Int32) -> Int? {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return offset
            } else {
                return nil
            }
        }
        return offset
    }

    /// Closes the descriptor; later writes fail.
    func close() {
        descriptor.withLock { descriptor in
            if let fd = descriptor { _ = Foundation.close(fd) }
            descriptor = nil
        }
    }
}

extension ByteBufferAllocator {
    /// `message` and the newline that ends it, for a channel (``LineWriter/line(_:)`` for a descriptor).
    func line(_ message: [UInt8]) -> ByteBuffer {
        var buffer = buffer(capacity: message.count + 1)
        buffer.writeBytes(message)
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }
}
