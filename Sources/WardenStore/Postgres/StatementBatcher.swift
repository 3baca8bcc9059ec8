import Synchronization

/// Sends the work of concurrent callers together: while one statement of this instance is in
/// flight, the items that arrive wait, and go in the next statement, all of them (up to
/// `maximumBatch`). A caller alone goes at once. Many calls on one row (a grant's limit) then
/// take its lock and wait for a commit once per statement instead of once each.
///
/// A statement that fails fails every caller in it, and the callers waiting behind it: the
/// store is unavailable for them too, and they learn it within the same bound.
final class StatementBatcher<Item: Sendable, Outcome: Sendable>: Sendable {
    private struct Waiting {
        let item: Item
        let continuation: CheckedContinuation<Outcome, any Error>
    }

    private struct State {
        var sending = false
        var waiting: [Waiting] = []
    }

    private let maximumBatch: Int
    /// Sends one statement for every item; their outcomes, in order.
    private let send: @Sendable ([Item]) async throws -> [Outcome]
    private let state = Mutex(State())

    init(maximumBatch: Int, send: @escaping @Sendable ([Item]) async throws -> [Outcome]) {
        self.maximumBatch = maximumBatch
        self.send = send
    }

    /// Sends `item` with whatever else is waiting, and returns its outcome.
    func submit(_ item: Item) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let leads = state.withLock { state in
                state.waiting.append(Waiting(item: item, continuation: continuation))
                defer { state.sending = true }
                return !state.sending
            }
            if leads { Task { await self.sendWhileWaiting() } }
        }
    }

    /// Sends batches until nobody waits.
    private func sendWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let taken = Array(state.waiting.prefix(maximumBatch))
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty { state.sending = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                let outcomes = try await send(batch.map(\.item))
                for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(returning: outcome) }
            } catch {
                let behind = state.withLock { state in
                    defer { state.waiting.removeAll() }
                    return state.waiting
                }
                for waiting in batch + behind { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}
