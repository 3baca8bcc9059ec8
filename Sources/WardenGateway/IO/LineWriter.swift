import Foundation
import Synchronization
public import WardenJSON
public import WardenMCP
public import WardenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a session's messages to its client go: a pipe for `warden run`, an HTTP session for
/// `warden serve`. Each call carries one whole JSON-RPC message (or batch), without framing.
///
/// Public so that test doubles (`WardenTesting.RecordingSink`) can stand in for a client.
public protocol MessageSink: Sendable {
    /// Delivers one message; `false` if the client is gone.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool

    /// Request `id` is held for approval for up to `duration`: its answer will be late.
    func holding(_ id: JSONValue, for duration: Duration)

    /// Delivers a message about request `id` (progress, a question for the user): on that
    /// request's own stream where the transport has one.
    @discardableResult
    func write(_ message: [UInt8], about id: JSONValue) -> Bool

    /// The client cancelled request `id`, which gets no answer: a transport still waiting to
    /// answer it (an HTTP POST) lets go.
    func abandon(_ id: JSONValue)

    /// Request `id` waits for `approval` to be decided (a transport that asks the caller
    /// itself may do so now).
    func awaitingDecision(_ id: JSONValue, approval: Approval)

    /// When the client side stops waiting for the answer to request `id`; `nil` when it has
    /// no deadline (or no longer waits).
    func deadline(of id: JSONValue) -> ContinuousClock.Instant?

    /// Delivers `message`, the answer to the client's request `id` (whose key is `key`): to
    /// whoever waits for it where the transport has such a place (an HTTP POST), without
    /// reading the message again to find its id.
    @discardableResult
    func answer(_ message: [UInt8], to id: JSONValue, key: RequestKey) -> Bool
}

extension MessageSink {
    func holding(_ id: JSONValue, for duration: Duration) {}

    @discardableResult
    func write(_ message: [UInt8], about id: JSONValue) -> Bool {
        write(message)
    }

    func abandon(_ id: JSONValue) {}

    func awaitingDecision(_ id: JSONValue, approval: Approval) {}

    func deadline(of id: JSONValue) -> ContinuousClock.Instant? { nil }

    /// Writes the answer as any other message.
    @discardableResult
    public func answer(_ message: [UInt8], to id: JSONValue, key: RequestKey) -> Bool {
        write(message)
    }
}

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
