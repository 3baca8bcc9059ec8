/// Why a lock file cannot be used. Its description names the file and the place, never a
/// definition's text, and says what to do.
public struct LockFileError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Equatable {
        /// The file cannot be read (missing, a directory, no permission).
        case unreadable
        /// The file is not JSON.
        case notJSON
        /// The JSON is not shaped like a lock file.
        case malformed
        /// The file says a version this Warden does not read.
        case unsupportedVersion
        /// A tool's recorded hash is not the hash of its recorded definition.
        case hashMismatch
    }

    public var kind: Kind
    /// The lock file's path, when it came from one.
    public var file: String?
    /// What exactly is wrong, and where (a JSON Pointer).
    public var detail: String

    public init(_ kind: Kind, file: String? = nil, detail: String) {
        self.kind = kind
        self.file = file
        self.detail = detail
    }

    public var description: String {
        let name = file ?? "the lock file"
        let remedy =
            switch kind {
            case .unreadable: "create it with `warden pin --lock \(file ?? "warden.lock") -- CMD ARGS…` (or `--config FILE`)"
            case .unsupportedVersion: "write it again with this Warden's `warden pin`"
            case .notJSON, .malformed, .hashMismatch: "restore it from version control, or write it again with `warden pin` after checking the server"
            }
        return "cannot use the lock file \(name): \(detail); \(remedy)"
    }
}
