import Foundation
import Synchronization

/// Writes audit records in the background, in batches, so the call path never waits for
/// the disk. ``flush()`` writes everything queued; call it before exiting.
public final class AuditWriter: Sendable {
    private let log: AuditLog
    private let queue = Mutex<[AuditRecord]>([])
    private let onError: @Sendable (any Error) -> Void

    /// - Parameters:
    ///   - log: Where records go.
    ///   - onError: Told about write failures (the records of a failed batch are kept and retried).
    public init(log: AuditLog, onError: @escaping @Sendable (any Error) -> Void) {
        self.log = log
        self.onError = onError
    }

    /// Queues a record. Never blocks on I/O.
    public func record(_ record: AuditRecord) {
        queue.withLock { $0.append(record) }
    }

    /// Writes everything queued so far. A batch taken from the queue is written even if the
    /// caller is cancelled meanwhile (the store refuses work from cancelled tasks).
    public func flush() async {
        let batch = queue.withLock { queue in
            defer { queue.removeAll() }
            return queue
        }
        guard !batch.isEmpty else { return }
        let log = log
        if case .failure(let error) = await Task(operation: { try await log.append(batch) }).result {
            queue.withLock { $0.insert(contentsOf: batch, at: 0) }
            onError(error)
        }
    }

    /// Flushes every `interval` until the task is cancelled, then flushes once more.
    public func run(interval: Duration = .milliseconds(50)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flush()
        }
        await flush()
    }
}
