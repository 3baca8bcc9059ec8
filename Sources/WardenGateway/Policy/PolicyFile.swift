import Foundation
public import Logging
import Synchronization
import WardenJSON
public import WardenPolicy
import WardenStore

/// The policy in force, loaded from a file and reloaded when the file changes or on demand
/// (SIGHUP). A new version that does not load keeps the old one in force, and says why.
public final class PolicyFile: Sendable {
    /// A loaded version of the policy and the SHA-256 of its text (recorded in the audit log).
    public struct Version: Sendable {
        /// The policy.
        public var policy: Policy
        /// SHA-256 of the file's text, hex.
        public var hash: String
    }

    /// The file.
    public let path: String
    private let logger: Logger
    private let state: Mutex<(version: Version, modified: Date?)>

    /// Loads `path`; throws the load error if the first version is invalid.
    public init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        let (version, modified) = try Self.load(path)
        state = Mutex((version, modified))
    }

    /// The version in force.
    public var current: Version {
        state.withLock { $0.version }
    }

    /// Reloads the file; keeps the current version if the new one does not load.
    public func reload() {
        do {
            let (version, modified) = try Self.load(path)
            let changed = state.withLock { state in
                defer { state = (version, modified) }
                return state.version.hash != version.hash
            }
            if changed {
                logger.info("policy reloaded", metadata: ["file": "\(path)", "policy_hash": "\(version.hash)"])
            }
        } catch {
            state.withLock { $0.modified = Self.modificationDate(of: path) }
            logger.error("policy not reloaded; the previous version stays in force", metadata: ["file": "\(path)", "problems": "\(error)"])
        }
    }

    /// Reloads whenever the file's modification time changes, checking every `interval`, until cancelled.
    public func watch(interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let known = state.withLock { $0.modified }
            if Self.modificationDate(of: path) != known { reload() }
        }
    }

    private static func load(_ path: String) throws -> (Version, Date?) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyLoadError(problems: [PolicyProblem(file: path, pointer: .root, message: "cannot read \(path)")])
        }
        let policy = try PolicyLoader.load(data, file: path)
        return (Version(policy: policy, hash: Digest.sha256(data)), modificationDate(of: path))
    }

    private static func modificationDate(of path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
