import ArgumentParser
import Foundation

extension Warden {
    /// Parses the process arguments, runs the command and exits with Warden's exit codes:
    /// usage errors exit 2 (ArgumentParser's default is 64).
    public static func runAndExit(_ arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}

/// Reports `message` as an error on standard error and returns exit status 2 (invalid input) to throw.
func failure(_ message: String) -> ExitCode {
    printError("error: " + message)
    return ExitCode(2)
}

/// Writes text to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
