import Foundation
import Synchronization

/// Writes audit records in the background, in batches, so the call path never waits for
/// the disk. ``flush()`` writes everything queued; call it before exiting.
///
/// After each batch it writes a checkpoint of the chain's head to the store's head file
/// (``AuditStore/checkpointPath``, beside a SQLite database), on a thread of its own, so
/// `warden audit verify` can tell when the newest entries were removed.
public final class AuditWriter: Sendable {
    private let log: any AuditStore
    private let queue = Mutex<[AuditRecord]>([])
    private let onError: @Sendable (any Error) -> Void
    private let checkpoints: AuditCheckpointWriter?

    /// - Parameters:
    ///   - log: Where records go.
    ///   - checkpoints: How checkpoints of the head are kept (by default
    ///     ``AuditCheckpointing/standard``: in the store's head file, if it has one).
    ///   - onError: Told about write failures (the records of a failed batch are kept and retried).
    public init(
        log: any AuditStore, checkpoints: AuditCheckpointing = .standard, onError: @escaping @Sendable (any Error) -> Void
    ) {
        self.log = log
        self.onError = onError
        self.checkpoints = log.checkpointPath.flatMap { path in
            checkpoints.isEnabled ? AuditCheckpointWriter(log: log, path: path, options: checkpoints, onError: onError) : nil
        }
    }

    /// Queues a record. Never blocks on I/O.
    public func record(_ record: AuditRecord) {
        queue.withLock { $0.append(record) }
    }

    /// The head file this writer keeps, if it keeps one.
    public var checkpointPath: String? { checkpoints?.path }

    /// The last checkpoint this writer wrote.
    public var lastCheckpoint: AuditCheckpoint? { checkpoints?.last }

    /// Writes everything queued so far, then a checkpoint of the new head. A batch taken
    /// from the queue, and its checkpoint, are written even if the caller is cancelled
    /// meanwhile (the store refuses work from cancelled tasks).
    public func flush() async {
        let batch = queue.withLock { queue in
            defer { queue.removeAll() }
            return queue
        }
        guard !batch.isEmpty else { return }
        let (log, checkpoints) = (log, checkpoints)
        let written = Task {
            if let head = try await log.append(batch), let checkpoints { await checkpoints.write(head) }
        }
        switch await written.result {
        case .success:
            break
        case .failure(let error):
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
