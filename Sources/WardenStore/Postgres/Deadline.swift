import Synchronization

/// Runs `operation` and returns its result, or throws `onTimeout()` once `timeout` has passed
/// without one, cancelling it. The caller gets an answer within the bound even when the
/// operation ignores cancellation (a connection to a server that stopped answering): the
/// operation runs in a task of its own, which is left to finish when cancelled.
func withDeadline<Result: Sendable>(
    _ timeout: Duration,
    onTimeout: @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let outcome = Outcome<Result>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            outcome.start(continuation)
            let work = Task {
                do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if outcome.finish(.failure(onTimeout())) { work.cancel() }
            }
            outcome.onFinish { work.cancel(); timer.cancel() }
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

/// The one result of a ``withDeadline(_:onTimeout:_:)`` call: the first to finish resumes the caller.
private final class Outcome<Result: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result, any Error>?
        var early: Swift.Result<Result, any Error>?
        var finished = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Result, any Error>) {
        let early = state.withLock { state -> Swift.Result<Result, any Error>? in
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            state.early = nil
            return early
        }
        if let early { continuation.resume(with: early) }
    }

    /// Runs `cleanup` once the outcome is known (at once if it is).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard !state.finished else { return true }
            state.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }

    /// Settles the outcome; whether this call was the first.
    @discardableResult
    func finish(_ result: Swift.Result<Result, any Error>) -> Bool {
        let (first, continuation, cleanup) = state.withLock { state in
            guard !state.finished else { return (false, nil as CheckedContinuation<Result, any Error>?, nil as (@Sendable () -> Void)?) }
            state.finished = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil; state.cleanup = nil }
            return (true, state.continuation, state.cleanup)
        }
        continuation?.resume(with: result)
        cleanup?()
        return first
    }
}
