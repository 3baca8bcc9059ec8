import Synchronization
import WardenStore

/// Wakes held calls when the store announces a change to their approval (``ApprovalStore/changes()``:
/// PostgreSQL's LISTEN/NOTIFY), so that a decision made anywhere (another instance's admin
/// API, the CLI) reaches the waiting call at once instead of at its next poll.
///
/// One subscription to the store serves every held call of the gateway; it is opened when the
/// first call waits, and opened again by the next one if the store ends it (a lost connection).
/// A store that announces nothing (SQLite) gives no ``Listener``: its holders poll.
final class ApprovalAnnouncements: Sendable {
    private let changes: @Sendable () -> AsyncStream<String>?
    private let state = Mutex(State())

    private struct State {
        /// Whether the store's stream is being read now.
        var subscribed = false
        /// The store cannot announce: never ask again.
        var unsupported = false
        var listeners: [String: [Int: Listener]] = [:]
        var lastListener = 0
    }

    init(store: any ApprovalStore) {
        self.changes = { store.changes() }
    }

    /// A listener for the changes to approval `id`, registered before the caller first reads
    /// the approval (so that no announcement falls between); `nil` when the store announces
    /// nothing. ``Listener/stop()`` it when done.
    func listen(for id: String) -> Listener? {
        let (listener, subscribe) = state.withLock { state -> (Listener?, Bool) in
            guard !state.unsupported else { return (nil, false) }
            state.lastListener += 1
            let listener = Listener(id: id, number: state.lastListener, owner: self)
            state.listeners[id, default: [:]][state.lastListener] = listener
            let subscribe = !state.subscribed
            state.subscribed = true
            return (listener, subscribe)
        }
        guard let listener else { return nil }
        if subscribe { self.subscribe() }
        return listener
    }

    /// Subscribes to the store's announcements now, if it makes them, rather than when the
    /// first call is held: a backend may take a moment to start listening (PostgreSQL's
    /// LISTEN), and an announcement made before would reach the held call only at its poll.
    func subscribeNow() {
        let subscribe = state.withLock { state -> Bool in
            guard !state.unsupported, !state.subscribed else { return false }
            state.subscribed = true
            return true
        }
        if subscribe { self.subscribe() }
    }

    private func subscribe() {
        guard let stream = changes() else {
            unsubscribe(forGood: true)
            return
        }
        Task { [weak self] in
            for await id in stream {
                guard let self else { return }
                self.announce(id)
            }
            // The store ended the stream (a lost connection): every listener's calls poll
            // from now on, and the next held call subscribes again.
            self?.unsubscribe(forGood: false)
        }
    }

    /// No stream is read any more: every listener ends (its holder polls); `forGood` when the
    /// store cannot announce at all, so nobody subscribes again.
    private func unsubscribe(forGood: Bool) {
        let orphans = state.withLock { state in
            state.unsupported = state.unsupported || forGood
            state.subscribed = false
            defer { state.listeners = [:] }
            return state.listeners.values.flatMap(\.values)
        }
        orphans.forEach { $0.end() }
    }

    private func announce(_ id: String) {
        let listeners = state.withLock { $0.listeners[id].map { Array($0.values) } ?? [] }
        listeners.forEach { $0.signal() }
    }

    fileprivate func remove(_ listener: Listener) {
        state.withLock { state in
            state.listeners[listener.id]?.removeValue(forKey: listener.number)
            if state.listeners[listener.id]?.isEmpty == true { state.listeners.removeValue(forKey: listener.id) }
        }
    }

    /// Told of each change to one approval: ``next(orAfter:clock:)`` returns when one comes
    /// (or came since the last call) or when the time is up.
    final class Listener: Sendable {
        let id: String
        let number: Int
        private weak let owner: ApprovalAnnouncements?
        private let state = Mutex(Signal())

        private struct Signal {
            var pending = false
            var ended = false
            var waiter: CheckedContinuation<Void, Never>?
        }

        fileprivate init(id: String, number: Int, owner: ApprovalAnnouncements) {
            self.id = id
            self.number = number
            self.owner = owner
        }

        /// Whether announcements still come: `false` once the store's stream ended, when
        /// the holder must poll.
        var isLive: Bool { !state.withLock(\.ended) }

        /// Waits until the approval changes (or changed since the last wait), `timeout` passes
        /// on `clock`, or the task is cancelled.
        func next<C: Clock<Duration>>(orAfter timeout: Duration, clock: C) async {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.signalled() }
                group.addTask { try? await clock.sleep(for: timeout) }
                await group.next()
                group.cancelAll()
            }
        }

        /// Stops listening.
        func stop() {
            owner?.remove(self)
            end()
        }

        fileprivate func signal() {
            state.withLock { signal in
                if let waiter = signal.waiter {
                    signal.waiter = nil
                    waiter.resume()
                } else {
                    signal.pending = true
                }
            }
        }

        /// No more announcements: a waiter returns (to poll).
        fileprivate func end() {
            state.withLock { signal in
                signal.ended = true
                signal.waiter?.resume()
                signal.waiter = nil
            }
        }

        private func signalled() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    state.withLock { signal in
                        if signal.pending || signal.ended || Task.isCancelled {
                            signal.pending = false
                            continuation.resume()
                        } else {
                            signal.waiter = continuation
                        }
                    }
                }
            } onCancel: {
                state.withLock { signal in
                    signal.waiter?.resume()
                    signal.waiter = nil
                }
            }
        }
    }
}
