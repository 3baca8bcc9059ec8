import Dispatch
import Foundation
import Synchronization

/// How an ``AuditWriter`` keeps checkpoints of the chain's head.
public struct AuditCheckpointing: Sendable {
    /// Whether to write the head file beside the database after each batch.
    public var isEnabled: Bool
    /// Signs each checkpoint when set.
    public var key: AuditCheckpointKey?
    /// Told of each checkpoint written (e.g. to put it in the gateway's log), on the
    /// checkpoint writer's own thread.
    public var onCheckpoint: (@Sendable (AuditCheckpoint) -> Void)?
    /// Told when a checkpoint cannot be written, or the head file already there contradicts
    /// the log (it is then kept, as evidence); when `nil`, the writer's `onError` is.
    public var onProblem: (@Sendable (String) -> Void)?

    public init(
        isEnabled: Bool = true, key: AuditCheckpointKey? = nil, onCheckpoint: (@Sendable (AuditCheckpoint) -> Void)? = nil,
        onProblem: (@Sendable (String) -> Void)? = nil
    ) {
        self.isEnabled = isEnabled
        self.key = key
        self.onCheckpoint = onCheckpoint
        self.onProblem = onProblem
    }

    /// What writers made without explicit options use: a head file beside the database,
    /// unsigned. A command sets it once at startup (`warden serve`: the key and the log line)
    /// before it makes its gateway.
    public static var standard: AuditCheckpointing {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    private static let current = Mutex(AuditCheckpointing())
}

/// Writes the head file after each flushed batch, on a thread of its own: the fsync never
/// runs on the call path nor on a thread of Swift's shared pool.
final class AuditCheckpointWriter: Sendable {
    let path: String
    private let log: any AuditStore
    private let options: AuditCheckpointing
    private let onError: @Sendable (any Error) -> Void
    private let queue = DispatchQueue(label: "warden.audit.checkpoint")
    private let state = Mutex(State())

    private struct State {
        /// The newest head this writer wrote: an older one (from a flush that finished
        /// later) never replaces it.
        var written: Int64 = 0
        var last: AuditCheckpoint?
        /// Problems already reported, so a lasting one is reported once.
        var reported: Set<String> = []
    }

    init(log: any AuditStore, path: String, options: AuditCheckpointing, onError: @escaping @Sendable (any Error) -> Void) {
        self.path = path
        self.log = log
        self.options = options
        self.onError = onError
    }

    /// The last checkpoint this writer wrote.
    var last: AuditCheckpoint? { state.withLock { $0.last } }

    /// Writes a checkpoint of `head`, and returns when it is on disk (or refused).
    func write(_ head: AuditLog.Head) async {
        guard head.sequence > state.withLock({ $0.written }) else { return }
        let path = path
        do {
            if let data = try await onQueue({ AuditCheckpoint.contents(of: path) }) {
                // The checkpoint there must still be in the log; if it is not, the newest
                // entries were removed or the log rewritten, and the file is the evidence.
                guard let existing = AuditCheckpoint.last(in: String(decoding: data, as: UTF8.self), source: path) else {
                    return report("\(path) holds no audit checkpoint; it is left in place (remove it to let Warden write checkpoints again)")
                }
                if try await log.hash(of: existing.sequence) != existing.hash {
                    return report(
                        "the audit log no longer holds entry \(existing.sequence) as \(existing.described) recorded it: newest entries were "
                            + "removed or the log was rewritten. The checkpoint is kept as evidence and no new one is written; "
                            + "run `warden audit verify`. To start a new log on purpose, remove the database and \(path) together")
                }
                if let key = options.key, !existing.isSigned(by: key) {
                    report("\(existing.described) is not signed with the configured checkpoint key; replacing it")
                }
                if existing.sequence >= head.sequence {
                    // Another process sharing the database wrote a newer head.
                    state.withLock { $0.written = max($0.written, head.sequence) }
                    return
                }
            }
            let checkpoint = AuditCheckpoint(head: head, key: options.key)
            try await onQueue { [self] in
                // A flush that finished meanwhile may have written a newer head.
                guard head.sequence > state.withLock({ $0.written }) else { return }
                try AuditCheckpoint.writeAtomically(checkpoint.text, to: path)
                state.withLock {
                    $0.written = head.sequence
                    $0.last = checkpoint
                }
                options.onCheckpoint?(checkpoint)
            }
        } catch {
            report("cannot write the audit checkpoint \(path): \(error)")
        }
    }

    /// Runs `body` on the writer's own thread.
    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: body)) }
        }
    }

    private func report(_ problem: String) {
        guard state.withLock({ $0.reported.insert(problem).inserted }) else { return }
        if let onProblem = options.onProblem {
            onProblem(problem)
        } else {
            onError(AuditCheckpointError(problem))
        }
    }
}
