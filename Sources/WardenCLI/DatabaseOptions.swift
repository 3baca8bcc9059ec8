import ArgumentParser
import Foundation
import WardenStore

/// The `--db` option shared by every command that uses Warden's state.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "The SQLite database with limits and the audit log (default: $XDG_STATE_HOME/warden/warden.db or ~/.local/state/warden/warden.db).")
    var db: String?

    /// The path in use.
    var path: String { db ?? SQLiteStore.defaultPath() }

    /// Opens the store, or exits 2 saying why.
    func open() throws -> SQLiteStore {
        try Self.open(path: path)
    }

    /// Opens the store for a command that only reads or changes what is in it (the audit
    /// log, approvals, grants and admin tokens), or exits 2 if there is no database there:
    /// a mistyped `--db` must not read as an empty, intact audit log.
    func openExisting() throws -> SQLiteStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw failure("no Warden database at \(path); give --db the file that warden run or warden serve uses")
        }
        return try open()
    }

    /// Opens the store at `path`, or exits 2 saying why.
    static func open(path: String) throws -> SQLiteStore {
        do {
            return try SQLiteStore(path: path)
        } catch {
            throw failure("cannot open the database \(path): \(error)")
        }
    }
}

/// `--label key=value` options.
enum LabelOption {
    static func parse(_ labels: [String], option: String = "--label") throws -> [String: String] {
        var result: [String: String] = [:]
        for label in labels {
            let parts = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("\(option) takes key=value, got \"\(label)\".")
            }
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }
}
