import Foundation
import Logging
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
    private let instanceName = Mutex<String?>(nil)

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
    public func record(_ record: consuming AuditRecord) {
        // Moved into the queue, not copied (16 strings retained and released).
        var taken = Optional(record)
        queue.withLock { $0.append(taken.take()!) }
    }

    /// The head file this writer keeps, if it keeps one.
    public var checkpointPath: String? { checkpoints?.path }

    /// The last checkpoint this writer wrote.
    public var lastCheckpoint: AuditCheckpoint? { checkpoints?.last }

    /// Where the store keeps the write-ahead records of calls being forwarded (``CallIntent``);
    /// `nil` for a store without them. A record with an ``AuditRecord/intent`` deletes its
    /// intent when it is written.
    public var intents: (any CallIntentStore)? { log.intents }

    /// The `warden serve` instance whose calls this writer records (their intents name it);
    /// `nil` until ``recoverInterrupted(instance:)`` names it, and for `warden run`.
    public var instance: String? { instanceName.withLock { $0 } }

    /// Appends the calls a stopped gateway left in flight (``CallIntent/Selection/leftBehind(instance:)``)
    /// to the log as interrupted records, and logs how many. ``run(interval:)`` does it for
    /// this host when it starts; `warden serve` again for its instance name once it knows it,
    /// which also names the instance the intents of its calls carry from then on (``instance``).
    /// Failures go to `onError`.
    /// - Returns: How many calls were recovered.
    @discardableResult
    public func recoverInterrupted(instance: String? = nil) async -> Int {
        if let instance { instanceName.withLock { $0 = instance } }
        guard let intents else { return 0 }
        do {
            let recovery = try await intents.recover(.leftBehind(instance: instance))
            if recovery.recovered > 0 {
                Logger(label: "warden").notice(
                    "recorded calls a stopped gateway left in flight as interrupted",
                    metadata: ["count": "\(recovery.recovered)", "head": "\(recovery.head?.sequence ?? 0)"])
            }
            return recovery.recovered
        } catch {
            onError(error)
            return 0
        }
    }

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
            let head = try await log.append(batch)
            if let head, let checkpoints { await checkpoints.write(head) }
        }
        switch await written.result {
        case .success:
            break
        case .failure(let error):
            queue.withLock { $0.insert(contentsOf: batch, at: 0) }
            onError(error)
        }
    }

    /// Recovers the calls stopped gateways on this host left in flight
    /// (``recoverInterrupted(instance:)``), then flushes every `interval` until the task is
    /// cancelled, then flushes once more.
    public func run(interval: Duration = .milliseconds(50)) async {
        // In a task of its own: a writer cancelled at once still recovers (the store refuses
        // work from cancelled tasks).
        _ = await Task { await self.recoverInterrupted() }.value
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flush()
        }
        await flush()
    }
}
