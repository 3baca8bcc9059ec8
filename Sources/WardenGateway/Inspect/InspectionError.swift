/// Why a server could not be listed, with what to check. Its description names the target
/// (a command line or URL, never the headers sent) and never holds a credential.
public struct InspectionError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The command's executable is not in `PATH` (or not executable).
        case commandNotFound
        /// The process could not be started.
        case couldNotStart
        /// The process exited (status) before the listing was done.
        case exited(Int32)
        /// The server could not be reached (connection refused, no such host, TLS).
        case unreachable
        /// The server answered with an HTTP error status.
        case httpStatus(Int)
        /// No answer within the time allowed.
        case timedOut
        /// The server broke the protocol, or answered a request with an error.
        case protocolError
    }

    public var kind: Kind
    /// The command line or URL.
    public var target: String
    /// What Warden was doing: `starting`, `initialize`, `tools/list`, …
    public var stage: String
    /// What happened, in a few words (the server's last stderr line, the error it answered).
    public var detail: String
    /// What to check.
    public var hint: String

    public init(_ kind: Kind, target: String, stage: String, detail: String, hint: String) {
        self.kind = kind
        self.target = target
        self.stage = stage
        self.detail = detail
        self.hint = hint
    }

    public var description: String {
        "cannot list \(target) (at \(stage)): \(detail). \(hint)"
    }
}
