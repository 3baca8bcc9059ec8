import Foundation
import Synchronization

/// A value behind a lock that tasks can wait on: ``wait(until:)`` suspends until a change
/// makes its condition hold. What the fakes record, and the test clock's state, live in one.
final class Watched<Value: Sendable>: Sendable {
    private struct Waiter {
        /// Resumes the waiter and returns `true` if its condition holds for the value.
        let attempt: @Sendable (Value) -> Bool
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var value: Value
        var waiters: [Int: Waiter] = [:]
        var lastWaiter = 0
    }

    private let state: Mutex<State>

    init(_ value: Value) {
        state = Mutex(State(value: value))
    }

    /// The value now.
    var value: Value {
        state.withLock { $0.value }
    }

    /// Changes the value; the waiters whose condition now holds are resumed.
    @discardableResult
    func change<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try state.withLock { state in
            let result = try body(&state.value)
            let value = state.value
            state.waiters = state.waiters.filter { !$0.value.attempt(value) }
            return result
        }
    }

    /// Waits until `condition` gives a result for the value, and returns it.
    /// - Throws: ``WaitTimedOut`` after `limit` of real time (a test that would otherwise
    ///   hang fails with what it waited for), `CancellationError` if the task is cancelled.
    func wait<Result: Sendable>(
        for what: @autoclosure () -> String, limit: Duration = .seconds(10),
        until condition: @escaping @Sendable (Value) -> Result?
    ) async throws -> Result {
        let description = what()
        let id = state.withLock { state in
            state.lastWaiter += 1
            return state.lastWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                let waiter = Waiter(
                    attempt: { value in
                        guard let result = condition(value) else { return false }
                        continuation.resume(returning: result)
                        return true
                    },
                    fail: { continuation.resume(throwing: $0) })
                let registered = state.withLock { state -> Bool in
                    if Task.isCancelled {
                        waiter.fail(CancellationError())
                    } else if !waiter.attempt(state.value) {
                        state.waiters[id] = waiter
                        return true
                    }
                    return false
                }
                guard registered else { return }
                Task { [weak self] in
                    try? await Task.sleep(for: limit)
                    self?.fail(id, with: WaitTimedOut(description: "timed out after \(limit) waiting for \(description)"))
                }
            }
        } onCancel: {
            fail(id, with: CancellationError())
        }
    }

    private func fail(_ id: Int, with error: any Error) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.fail(error)
    }
}

/// A wait in a test double that did not end in time: what the test waited for never happened.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public var description: String
}
