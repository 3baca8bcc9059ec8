import Logging
import Synchronization

/// A log that keeps only the `error` of the last warning logged to it: what a remote upstream
/// says went wrong (connection refused, no such host), for the inspector's message, without
/// printing the upstream's log.
final class LastErrorLog: Sendable {
    private let last = Mutex<String?>(nil)

    /// The last `error` logged at warning or above, if any.
    var lastError: String? { last.withLock { $0 } }

    /// A logger writing to this log.
    var logger: Logger {
        Logger(label: "warden.inspect") { _ in Handler(log: self) }
    }

    private func record(_ error: String) {
        last.withLock { $0 = error }
    }

    private struct Handler: LogHandler {
        let log: LastErrorLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            if let error = event.metadata?["error"] { log.record("\(error)") }
        }
    }
}
