import Foundation
import NIOCore
import NIOPosix
import Synchronization
import WardenMCP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An MCP server started as a child process: its stdin and stdout are a NIO pipe channel,
/// its stderr is Warden's. Its output is framed into lines on the event loop that reads it.
final class ServerProcess: Upstream {
    /// The process id.
    let processIdentifier: Int32
    let messages: MessageQueue
    /// The event loop that reads and writes the process's pipes.
    let eventLoop: any EventLoop
    /// `eventLoop` as a task executor: tasks that prefer it run where the pipes are read and
    /// written, with no hand-over between threads.
    let executor: EventLoopTaskExecutor
    /// The pipes to the process, once registered with `eventLoop`.
    private let channel: EventLoopFuture<any Channel>
    /// `channel`'s value once registered: sending need not ask the future each time.
    private let registered = Mutex<(any Channel)?>(nil)
    private let exit: ExitState

    /// The servers running now, by process id: what ``killAll()`` stops.
    private static let running = Mutex<[Int32: ExitState]>([:])

    /// Kills (SIGKILL) every server process still running: the last step of a shutdown that
    /// ran out of time. Returns how many there were.
    @discardableResult
    static func killAll() -> Int {
        let live = running.withLock { $0.filter { $0.value.state.withLock(\.status) == nil } }
        for pid in live.keys { kill(pid, SIGKILL) }
        return live.count
    }

    /// The exit status once known, and who waits for it.
    private final class ExitState: Sendable {
        let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

        func finish(_ status: Int32) {
            let waiters = state.withLock { state in
                state.status = status
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.forEach { $0.resume(returning: status) }
        }
    }

    /// Starts `command` (looked up in `PATH`), with `environment` added to Warden's own; lines
    /// longer than `maxMessageBytes` are refused unread. The server's stderr goes to
    /// `standardError`; the default is Warden's own.
    init(command: [String], environment: [String: String] = [:], maxMessageBytes: Int, standardError: FileHandle = .standardError) throws {
        let stdin = try Self.pipe()
        let stdout = try Self.pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardInput = FileHandle(fileDescriptor: stdin.read, closeOnDealloc: false)
        process.standardOutput = FileHandle(fileDescriptor: stdout.write, closeOnDealloc: false)
        process.standardError = standardError
        let exit = ExitState()
        process.terminationHandler = { process in
            exit.finish(process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus)
            Self.running.withLock { running in
                if running[process.processIdentifier] === exit { running.removeValue(forKey: process.processIdentifier) }
            }
        }
        do {
            // The child inherits the spawning thread's signal mask, and Swift's worker threads
            // block most signals: spawn with none blocked, or SIGTERM would never reach the server.
            var unblocked = sigset_t()
            var previous = sigset_t()
            sigemptyset(&unblocked)
            pthread_sigmask(SIG_SETMASK, &unblocked, &previous)
            defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
            try process.run()
        } catch {
            [stdin.read, stdin.write, stdout.read, stdout.write].forEach { _ = close($0) }
            throw error
        }
        // The child has its ends; without closing ours, its exit would never end our reads.
        _ = close(stdin.read)
        _ = close(stdout.write)
        // Not if it has exited already (its pid may be another process's soon).
        Self.running.withLock { running in
            if exit.state.withLock({ $0.status == nil }) { running[process.processIdentifier] = exit }
        }
        let messages = MessageQueue()
        self.processIdentifier = process.processIdentifier
        self.messages = messages
        self.exit = exit
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        self.eventLoop = eventLoop
        self.executor = EventLoopTaskExecutor(eventLoop)
        self.channel = NIOPipeBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineFramingHandler(maxLineLength: maxMessageBytes, messages: messages))
                }
            }
            .takingOwnershipOfDescriptors(input: stdout.read, output: stdin.write)
        channel.whenSuccess { [weak self] channel in self?.registered.withLock { $0 = channel } }
        channel.whenFailure { [pid = process.processIdentifier] _ in
            // Never reached in practice (pipes always register): the server is useless without them.
            _ = close(stdout.read)
            _ = close(stdin.write)
            messages.finish()
            kill(pid, SIGKILL)
        }
    }

    /// A pipe whose ends are not inherited by child processes (the server must see EOF on
    /// its stdin when Warden closes it, so it must not hold the write end itself).
    private static func pipe() throws -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [0, 0]
        guard Glibc.pipe(&descriptors) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        return (descriptors[0], descriptors[1])
    }

    /// Writes the message and its newline; waits only while the pipe to the server is full
    /// (and for the pipes to be registered, at the start).
    func send(_ message: [UInt8]) async {
        let channel: any Channel
        if let ready = registered.withLock({ $0 }) {
            channel = ready
        } else {
            guard let later = try? await self.channel.get() else { return }
            channel = later
        }
        let buffer = channel.allocator.line(message)
        if channel.isWritable {
            channel.writeAndFlush(buffer, promise: nil)
        } else {
            try? await channel.writeAndFlush(buffer)
        }
    }

    /// Closes the server's stdin; its stdout is still read.
    func closeInput() {
        channel.whenSuccess { $0.close(mode: .output, promise: nil) }
    }

    /// Closes the server's stdin, so that it exits; one that ignores it is asked to stop
    /// (SIGTERM) after 2 s, and made to (SIGKILL) after 3 more.
    func stop() {
        closeInput()
        Task {
            try? await Task.sleep(for: .seconds(2))
            if !hasExited { kill(processIdentifier, SIGTERM) }
            try? await Task.sleep(for: .seconds(3))
            if !hasExited { kill(processIdentifier, SIGKILL) }
        }
    }

    /// Whether the server has exited.
    var hasExited: Bool { exit.state.withLock { $0.status != nil } }

    var isFinished: Bool { hasExited }

    /// Waits for the server to exit and returns its status (128 + signal when killed by one).
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = exit.state.withLock { state -> Int32? in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }
}
