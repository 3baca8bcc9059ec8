import Synchronization

/// Hands an HTTP session's client messages to its pipeline one batch at a time, in the order
/// they came, without a thread of its own. A POST that finds the pipeline free has its own
/// messages handled in its own task (no hand-off between threads); what arrives meanwhile
/// waits its turn and is handled by a task started for it.
final class InboundQueue: Sendable {
    typealias Work = @Sendable () async -> Void

    private struct State {
        var busy = false
        var waiting: [Work] = []
        var first = 0
    }

    private let state = Mutex(State())

    /// Runs `work` now in the caller's task if nothing is in progress, and returns when it is
    /// done; otherwise queues it behind what is, and returns at once.
    func run(_ work: @escaping Work) async {
        guard takeTurn(or: work) else { return }
        await work()
        passTurn()
    }

    /// Queues `work` behind everything handed over so far, and returns at once.
    func enqueue(_ work: @escaping Work) {
        guard takeTurn(or: work) else { return }
        Task {
            await work()
            self.passTurn()
        }
    }

    /// Whether the caller has the turn; if not, `work` is queued for whoever has it.
    private func takeTurn(or work: @escaping Work) -> Bool {
        state.withLock { state in
            guard state.busy else {
                state.busy = true
                return true
            }
            state.waiting.append(work)
            return false
        }
    }

    /// The turn's holder is done: what waits is run in a task of its own (not in a POST's task,
    /// whose cancellation must not reach other requests' work), or the turn is given up.
    private func passTurn() {
        guard let next = nextWaiting() else { return }
        Task {
            var work: Work? = next
            while let current = work {
                await current()
                work = self.nextWaiting()
            }
        }
    }

    /// The first queued work, taken out; `nil` (and the turn given up) when none waits.
    private func nextWaiting() -> Work? {
        state.withLock { state in
            guard state.first < state.waiting.count else {
                state.busy = false
                state.waiting.removeAll(keepingCapacity: true)
                state.first = 0
                return nil
            }
            defer { state.first += 1 }
            return state.waiting[state.first]
        }
    }
}
