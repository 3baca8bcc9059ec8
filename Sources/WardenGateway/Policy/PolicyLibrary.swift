import Logging
import Synchronization
import WardenPolicy

/// The policy files a gateway serving many callers uses, each loaded once on first use and
/// then watched for changes, like `warden run`'s.
final class PolicyLibrary: Sendable {
    private let logger: Logger
    private let files = Mutex<[String: PolicyFile]>([:])
    private let watchers = Mutex<[Task<Void, Never>]>([])

    init(logger: Logger) {
        self.logger = logger
    }

    /// The policy file at `path`, loaded and watched from now on.
    func file(at path: String) throws -> PolicyFile {
        if let file = files.withLock({ $0[path] }) { return file }
        let loaded = try PolicyFile(path: path, logger: logger)
        let (file, isNew) = files.withLock { files -> (PolicyFile, Bool) in
            if let existing = files[path] { return (existing, false) }
            files[path] = loaded
            return (loaded, true)
        }
        if isNew {
            let watcher = Task { await file.watch() }
            watchers.withLock { $0.append(watcher) }
        }
        return file
    }

    /// Reloads every policy now (SIGHUP).
    func reloadAll() {
        files.withLock { Array($0.values) }.forEach { $0.reload() }
    }

    /// Stops watching the files.
    func stopWatching() {
        watchers.withLock { $0 }.forEach { $0.cancel() }
    }
}
