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

    /// `message` and the newline that ends it, as one line (see ``unbroken(_:)``).
    static func line(_ message: [UInt8]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(message.count + 1)
        bytes.append(contentsOf: message)
        if hasLineBreak(message) { bytes.withUnsafeMutableBytes { unbroken($0) } }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Whether `message` holds a CR or an LF.
    static func hasLineBreak(_ message: [UInt8]) -> Bool {
        message.withUnsafeBytes { bytes in
            bytes.count > 0
                && (memchr(bytes.baseAddress!, 0x0A, bytes.count) != nil || memchr(bytes.baseAddress!, 0x0D, bytes.count) != nil)
        }
    }

    /// Turns every CR and LF into a space. A message sent as a line must be one line for any
    /// reader, which may split at either: JSON allows them only between tokens, where a space
    /// means the same, so a client's pretty-printed HTTP body, or a server's line holding a CR,
    /// cannot carry a second message past the policy.
    static func unbroken(_ bytes: UnsafeMutableRawBufferPointer) {
        for index in bytes.indices where bytes[index] == 0x0A || bytes[index] == 0x0D {
            bytes[index] = UInt8(ascii: " ")
        }
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
    /// `message` and the newline that ends it, as one line, for a channel (``LineWriter/line(_:)``
    /// for a descriptor).
    func line(_ message: [UInt8]) -> ByteBuffer {
        var buffer = buffer(capacity: message.count + 1)
        buffer.writeBytes(message)
        if LineWriter.hasLineBreak(message) { buffer.withUnsafeMutableReadableBytes { LineWriter.unbroken($0) } }
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }
}
