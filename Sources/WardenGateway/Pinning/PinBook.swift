import Foundation
import Synchronization
public import WardenCatalogue
import WardenJSON

/// The pins a gateway enforces, read from one lock file, shared by every session and server;
/// with the drift its sessions have seen, for the admin API and the dashboard. A re-pin
/// rewrites the file atomically (a temporary file renamed over it) and takes effect at once,
/// without a restart.
///
/// The file is this instance's own: several instances on PostgreSQL each read and rewrite
/// their copy (see `docs/pinning.md`).
public final class PinBook: Sendable {
    /// A drift a session saw, with the server it is of.
    public struct ServerDrift: Sendable, Hashable {
        public var server: String
        public var drift: ToolDrift
    }

    /// Why a re-pin was refused.
    public struct RepinError: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// No drift of that tool has been seen: nothing to re-pin.
            case noDrift
            /// The drift changed since the approver looked (the hash they confirmed is not the listed one).
            case stale
            /// The lock file could not be written.
            case unwritable
        }

        public var kind: Kind
        public var description: String
    }

    /// The lock file's path.
    public let path: String
    private let state: Mutex<State>
    /// Held while the file is rewritten.
    private let writing = Mutex(())

    private struct State {
        var lock: LockFile
        /// The latest drift seen of each tool, by server.
        var drifts: [String: [ExactName: ToolDrift]] = [:]
    }

    /// Pins from a lock file already read.
    public init(path: String, lock: LockFile) {
        self.path = path
        self.state = Mutex(State(lock: lock))
    }

    /// Reads the lock file at `path`.
    /// - Throws: ``LockFileError`` when it is missing, unreadable, malformed or of another version:
    ///   the gateway must not start (fail closed).
    public static func load(path: String) throws(LockFileError) -> PinBook {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw LockFileError(.unreadable, file: path, detail: exists ? "it cannot be read (a directory, or no permission?)" : "it does not exist")
        }
        return PinBook(path: path, lock: try LockFile(bytes: data, file: path))
    }

    /// The lock file as it is now.
    public var lock: LockFile {
        state.withLock { $0.lock }
    }

    /// The pins of `server`; none when the lock file does not name it (then every tool is new).
    public func pins(of server: String) -> LockFile.Server {
        state.withLock { $0.lock.servers[server] } ?? LockFile.Server()
    }

    /// Records what a session saw of `server`'s tools: `drifts` of the tools `seen`. Returns the
    /// drifts not seen before (to audit, once per change); a tool seen as pinned again forgets its drift.
    func observe(_ drifts: [ToolDrift], seen: [String], server: String) -> [ToolDrift] {
        state.withLock { state in
            var current = state.drifts[server] ?? [:]
            let drifted = Set(drifts.map { ExactName($0.tool) })
            for name in seen.map(ExactName.init) where !drifted.contains(name) {
                current.removeValue(forKey: name)
            }
            var fresh: [ToolDrift] = []
            for drift in drifts where current[ExactName(drift.tool)] != drift {
                current[ExactName(drift.tool)] = drift
                fresh.append(drift)
            }
            state.drifts[server] = current
            return fresh
        }
    }

    /// Every drift seen and not re-pinned, by server then tool name.
    public var drifts: [ServerDrift] {
        state.withLock { state in
            state.drifts.sorted { $0.key < $1.key }.flatMap { server, drifts in
                drifts.values.sorted { $0.tool.utf8.lexicographicallyPrecedes($1.tool.utf8) }.map { ServerDrift(server: server, drift: $0) }
            }
        }
    }

    /// Approves the drift seen of `tool` on `server`: pins the listed definition (or, for a
    /// removed tool, drops its pin) and rewrites the lock file. Returns the drift re-pinned.
    /// - Parameter expectedHash: The listed hash the approver saw (`removed` for a removed
    ///   tool); when given and no longer the drift's, nothing changes.
    /// - Throws: ``RepinError``.
    public func repin(server: String, tool: String, expectedHash: String? = nil) throws(RepinError) -> ToolDrift {
        // One rewrite at a time; a small file, written rarely (an approver's action).
        try writing.withLock { _ throws(RepinError) -> ToolDrift in
            let (drift, updated) = try state.withLock { state throws(RepinError) -> (ToolDrift, LockFile) in
                guard let drift = state.drifts[server]?[ExactName(tool)] else {
                    throw RepinError(kind: .noDrift, description: "no drift of \(tool) on \(server) has been seen; nothing to re-pin")
                }
                if let expectedHash, expectedHash != (drift.listedHash ?? "removed") {
                    throw RepinError(
                        kind: .stale,
                        description: "the drift of \(tool) on \(server) is now to \(drift.listedHash ?? "removed"), not \(expectedHash); look at it again")
                }
                var lock = state.lock
                if let listed = drift.listed { lock.pin(listed, server: server) } else { lock.unpin(tool, server: server) }
                return (drift, lock)
            }
            do {
                try Data(updated.encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw RepinError(kind: .unwritable, description: "cannot write the lock file \(path): \(error.localizedDescription); the pin is unchanged")
            }
            state.withLock { state in
                state.lock = updated
                if state.drifts[server]?[ExactName(tool)] == drift { state.drifts[server]?.removeValue(forKey: ExactName(tool)) }
            }
            return drift
        }
    }
}
