import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes newline-terminated messages into a server's stdin without ever blocking the caller.
///
/// The pipe is non-blocking: what it cannot take at once waits, in order, and a thread of its
/// own writes it as the server reads. So a server that stops reading can hold up only its own
/// messages, never a thread of Swift's concurrency pool or the thread reading its output (which
/// could otherwise deadlock with a server blocked on writing that output).
final class PipeWriter: Sendable {
    /// The most bytes kept waiting for a server that does not read; beyond, a writer waits
    /// for the server to read, as with a blocking pipe (backpressure for a flooding client).
    static let maxPendingBytes = 32 * 1024 * 1024

    private struct State {
        var descriptor: Int32?
        /// Bytes the pipe did not take yet, oldest first.
        var pending: [UInt8] = []
        /// Whether the draining thread runs.
        var draining = false
        /// Closing waits for the pending bytes to go out.
        var closeWhenDrained = false
    }

    private let state: Mutex<State>

    init(descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        state = Mutex(State(descriptor: descriptor))
    }

    /// Sends `message` and a newline, now or as soon as the server reads; `false` if the pipe
    /// is closed or broken, or too much already waits.
    @discardableResult
    func write(_ message: [UInt8]) -> Bool {
        let bytes = LineWriter.line(message)
        while true {
            let outcome = state.withLock { state -> Outcome in
                guard let fd = state.descriptor, !state.closeWhenDrained else { return .refused }
                if state.pending.isEmpty {
                    guard let written = LineWriter.writeSome(bytes[...], to: fd) else { return .refused }
                    if written == bytes.count { return .sent }
                    state.pending = Array(bytes[written...])
                } else {
                    guard state.pending.count + bytes.count <= Self.maxPendingBytes else { return .full(fd) }
                    state.pending.append(contentsOf: bytes)
                }
                defer { state.draining = true }
                return .queued(startDraining: !state.draining)
            }
            switch outcome {
            case .sent: return true
            case .queued(let startDraining):
                if startDraining { DispatchQueue.global().async { self.drain() } }
                return true
            case .refused: return false
            case .full(let fd):
                // Far too much waits already: wait (outside the lock) for the server to read.
                var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, 100)
                usleep(1000)
            }
        }
    }

    /// What a write did: sent it whole, queued (some of) it, refused it (closed or broken), or
    /// found the queue full (of pipe `fd`).
    private enum Outcome {
        case sent, refused
        case queued(startDraining: Bool)
        case full(Int32)
    }

    /// Closes the pipe once what waits has gone out (the server then sees the end of its input).
    func close() {
        state.withLock { state in
            guard let fd = state.descriptor else { return }
            if state.pending.isEmpty {
                _ = Glibc.close(fd)
                state.descriptor = nil
            } else {
                state.closeWhenDrained = true
            }
        }
    }

    /// Writes what waits as the server makes room, until nothing does (or the pipe breaks).
    private func drain() {
        while true {
            guard let fd = state.withLock({ $0.descriptor }) else { return }
            var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&ready, 1, 1000)
            let done = state.withLock { state -> Bool in
                guard let fd = state.descriptor else { return true }
                let written = LineWriter.writeSome(state.pending[...], to: fd)
                if let written { state.pending.removeFirst(written) }
                guard written == nil || state.pending.isEmpty else { return false }
                // Drained, or broken (the server is gone: what waits cannot be delivered).
                state.pending = []
                state.draining = false
                if written == nil || state.closeWhenDrained {
                    _ = Glibc.close(fd)
                    state.descriptor = nil
                }
                return true
            }
            if done { return }
        }
    }
}
