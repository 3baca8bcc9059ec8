import ArgumentParser
import Foundation
import Logging
import Synchronization
import WardenStore

/// The `--audit-checkpoint-key` option of the commands that run a gateway.
struct AuditCheckpointOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Sign the audit log's checkpoints (HMAC-SHA256) with the key in this file, kept outside the database "
                + "(16 bytes or more); `warden audit verify --checkpoint-key FILE` checks them.",
            valueName: "file"))
    var auditCheckpointKey: String?

    /// The key in `--audit-checkpoint-key`, if given; exits 2 when it cannot be read.
    func key() throws -> AuditCheckpointKey? {
        do {
            return try auditCheckpointKey.map { path throws(AuditCheckpointError) in try AuditCheckpointKey(contentsOfFile: path) }
        } catch {
            throw failure(error.description)
        }
    }

    /// How the gateway's audit writer keeps checkpoints: the head file beside the database,
    /// signed with the key if one is given, and a line in `log` (see ``AuditCheckpointLog``).
    /// Exits 2 when the key cannot be read.
    func checkpointing(log: AuditCheckpointLog) throws -> AuditCheckpointing {
        AuditCheckpointing(
            key: try key(), onCheckpoint: { log.written($0) },
            onProblem: { [logger = log.logger] problem in logger.error("audit checkpoint: \(problem)") })
    }
}

/// Puts checkpoints of the audit chain's head in Warden's log: the first one, then at most
/// one a minute while entries are written, and the last one when the gateway stops. The
/// line carries the checkpoint's JSON, so a copy of the log is a copy of the checkpoints
/// (`warden audit verify --checkpoint LOGFILE`).
final class AuditCheckpointLog: Sendable {
    let logger: Logger
    private let interval: Duration
    private let state = Mutex<(latest: AuditCheckpoint?, logged: Int64, at: ContinuousClock.Instant?)>((nil, 0, nil))

    init(logger: Logger, interval: Duration = .seconds(60)) {
        self.logger = logger
        self.interval = interval
    }

    /// Called for each checkpoint written.
    func written(_ checkpoint: AuditCheckpoint) {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            state.latest = checkpoint
            guard state.at.map({ now - $0 >= interval }) ?? true else { return false }
            state.logged = checkpoint.sequence
            state.at = now
            return true
        }
        if due { log(checkpoint) }
    }

    /// Logs the latest checkpoint if it was not logged yet: call it when the gateway stops.
    func finish() {
        let pending = state.withLock { state -> AuditCheckpoint? in
            guard let latest = state.latest, latest.sequence > state.logged else { return nil }
            state.logged = latest.sequence
            return latest
        }
        if let pending { log(pending) }
    }

    private func log(_ checkpoint: AuditCheckpoint) {
        logger.notice("audit checkpoint", metadata: ["checkpoint": "\(checkpoint.text)"])
    }
}
