import Foundation
import PostgresNIO
import Synchronization

/// One `LISTEN` connection per channel and ``PostgresStore``, fanned out to every subscriber:
/// `warden_approvals` to each iterator of ``PostgresApprovalStore/changes()``, `warden_grants`
/// to the ``GrantCache``. It listens from the first subscriber on (or ``startWatching()``),
/// on a connection of the store's pool, and listens again after losing its connection
/// (announcements made while it was not listening are lost: ``generation`` tells who must care).
final class ChannelListener: GrantChangeSignal {
    private struct State {
        var subscribers: [UUID: AsyncStream<String>.Continuation] = [:]
        var listener: Task<Void, Never>?
        var isListening = false
        var generation: UInt64 = 0
        var listeningWaiters: [CheckedContinuation<Void, Never>] = []
        var stopped = false
    }

    private let database: PostgresDatabase
    /// The channel.
    let channel: String
    private let state = Mutex(State())

    init(database: PostgresDatabase, channel: String) {
        self.database = database
        self.channel = channel
    }

    /// Whether it listens now, and how many times an announcement arrived, listening started
    /// or stopped, or ``changed()`` was called: a value read before reading the store that is
    /// still the same afterwards means nothing was announced meanwhile, nor missed.
    var watched: (isWatching: Bool, generation: UInt64) {
        state.withLock { ($0.isListening, $0.generation) }
    }

    /// Counts a change this process made itself, without waiting for its announcement.
    func changed() {
        state.withLock { $0.generation &+= 1 }
    }

    /// Starts listening, if it does not already, without subscribing.
    func startWatching() {
        state.withLock { state in
            guard !state.stopped else { return }
            startListening(in: &state)
        }
    }

    /// Starts the listener, under the lock, unless it runs already.
    private func startListening(in state: inout State) {
        guard state.listener == nil else { return }
        state.listener = Task { [weak self] in await self?.listen() }
    }

    /// A stream of the ids of approvals announced from now on (once listening), until the
    /// caller stops iterating or the store closes.
    func subscribe() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1024))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        // The listener starts under the lock, so two first subscribers cannot both start one.
        let stopped = state.withLock { state -> Bool in
            guard !state.stopped else { return true }
            state.subscribers[id] = continuation
            startListening(in: &state)
            return false
        }
        if stopped { continuation.finish() }
        return stream
    }

    /// Returns once the announcer listens (for tests: an announcement after this reaches
    /// every subscriber). Returns at once when stopped.
    func waitUntilListening() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard !state.isListening, !state.stopped else { return true }
                state.listeningWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Stops listening and ends every subscriber's stream.
    func stop() {
        let (listener, subscribers, waiters) = state.withLock { state in
            state.stopped = true
            state.isListening = false
            state.generation &+= 1
            defer {
                state.subscribers = [:]
                state.listeningWaiters = []
            }
            return (state.listener, Array(state.subscribers.values), state.listeningWaiters)
        }
        listener?.cancel()
        subscribers.forEach { $0.finish() }
        waiters.forEach { $0.resume() }
    }

    /// Listens until cancelled, listening again (after a pause of up to a second) whenever
    /// the connection is lost.
    private func listen() async {
        var pause = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: self.channel) { notifications in
                        self.setListening(true)
                        for try await notification in notifications { self.announce(notification.payload) }
                    }
                }
            } catch {
                database.logger.debug("\(channel): listening again after \(PostgresFailure(error))")
            }
            let wasListening = state.withLock { $0.isListening }
            setListening(false)
            // Lost after listening: try again soon; failing to listen at all: back off.
            pause = wasListening ? .milliseconds(50) : min(pause * 2, .seconds(1))
            try? await Task.sleep(for: pause)
        }
    }

    private func setListening(_ listening: Bool) {
        let waiters = state.withLock { state in
            if state.isListening != listening { state.generation &+= 1 }
            state.isListening = listening
            guard listening else { return [CheckedContinuation<Void, Never>]() }
            defer { state.listeningWaiters = [] }
            return state.listeningWaiters
        }
        waiters.forEach { $0.resume() }
    }

    private func announce(_ id: String) {
        let subscribers = state.withLock { state in
            state.generation &+= 1
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(id) }
    }
}
