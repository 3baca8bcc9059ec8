import ArgumentParser
import Logging

/// The `--log-level` option of the commands that run a gateway; the log goes to stderr.
struct LogOptions: ParsableArguments {
    @Option(help: "Warden's log level on stderr: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = Logger.Level.notice.rawValue

    func validate() throws {
        if Logger.Level(rawValue: logLevel) == nil {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--log-level takes one of \(levels); got \"\(logLevel)\".")
        }
    }

    /// Sends every log to stderr at the chosen level and returns Warden's logger.
    func bootstrap() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, level: level) }
        return Logger(label: "warden")
    }
}
