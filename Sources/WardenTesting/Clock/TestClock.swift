/// A clock whose time moves only when the test moves it, for code that takes an injected
/// `any Clock<Duration>`: a task sleeping on it wakes when ``advance(by:)`` reaches its
/// deadline, never on its own.
///
/// ```swift
/// let clock = TestClock()
/// let desk = ApprovalDesk(store: store.approvals, clock: clock)
/// // ... hold a call ...
/// try await clock.waitForSleepers()   // the held call waits for its next poll
/// clock.advance(by: .seconds(30))     // past its deadline: it expires now
/// ```
public final class TestClock: Clock, Sendable {
    /// A point in the test clock's time: how far it is from the clock's start.
    public struct Instant: InstantProtocol, Sendable {
        /// The time since the clock started.
        public var offset: Duration

        public init(offset: Duration) {
            self.offset = offset
        }

        public func advanced(by duration: Duration) -> Self {
            Self(offset: offset + duration)
        }

        public func duration(to other: Self) -> Duration {
            other.offset - offset
        }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            lhs.offset < rhs.offset
        }
    }

    struct Sleeper: Sendable {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    struct State: Sendable {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var lastSleeper = 0
    }

    private let state = Watched(State())

    /// A clock at its start (offset zero), with nobody asleep.
    public init() {}

    public var now: Instant {
        state.value.now
    }

    public var minimumResolution: Duration {
        .nanoseconds(1)
    }

    /// Returns once the clock reaches `deadline` (at once if it has); throws
    /// `CancellationError` if the task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.change { state in
            state.lastSleeper += 1
            return state.lastSleeper
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.change { state in
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else if deadline <= state.now {
                        continuation.resume()
                    } else {
                        state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    }
                }
            }
        } onCancel: {
            state.change { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock on by `duration`, waking every sleeper whose deadline it reaches.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves the clock to `instant` (never back), waking every sleeper whose deadline it reaches.
    public func advance(to instant: Instant) {
        let woken = state.change { state -> [Sleeper] in
            state.now = max(state.now, instant)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// How many tasks sleep on the clock now.
    public var sleeperCount: Int {
        state.value.sleepers.count
    }

    /// Waits (in real time, up to `limit`) until at least `count` tasks sleep on the clock:
    /// the code under test has done what it does before its next wait, so advancing the
    /// clock now wakes it.
    public func waitForSleepers(_ count: Int = 1, limit: Duration = .seconds(10)) async throws {
        try await state.wait(for: "\(count) sleepers on the test clock", limit: limit) { $0.sleepers.count >= count ? () : nil }
    }
}
