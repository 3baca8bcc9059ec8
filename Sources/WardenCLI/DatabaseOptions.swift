import ArgumentParser
import Foundation
import WardenGateway
import WardenPolicy
import WardenStore

/// The `--db` option shared by every command that uses Warden's state.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The store with limits, the audit log, grants and approvals: a SQLite file (a path, or sqlite:PATH) or a "
                + "PostgreSQL URL (postgres://user@host:5432/warden?sslmode=require) (default: $WARDEN_DB, else "
                + "$XDG_STATE_HOME/warden/warden.db or ~/.local/state/warden/warden.db).",
            valueName: "path-or-url"))
    var db: String?

    func validate() throws {
        if let db { _ = try Self.configuration(db, option: "--db") }
    }

    /// The store in use: the one `--db` names, else `$WARDEN_DB`, else `fallback` (a gateway
    /// configuration's `store:`), else SQLite at the default path. Exits 2 when `--db` or
    /// `$WARDEN_DB` is not a store's location.
    func store(fallback: StoreConfiguration? = nil) throws -> StoreConfiguration {
        try Self.store(db: db, fallback: fallback)
    }

    /// The store `db` names, else `$WARDEN_DB`, else `fallback`, else SQLite at the default
    /// path. Exits 2 when `db` or `$WARDEN_DB` is not a store's location.
    static func store(db: String?, fallback: StoreConfiguration?) throws -> StoreConfiguration {
        do {
            if let db { return try configuration(db, option: "--db") }
            if let environment = environmentPath { return try configuration(environment, option: "$WARDEN_DB") }
        } catch let error as ValidationError {
            throw failure(error.message)
        }
        return fallback ?? .default
    }

    /// The store `text` names, as `--db` takes it: a `postgres://` or `postgresql://` URL, `sqlite:PATH`,
    /// or a path (SQLite).
    /// - Throws: `ValidationError` naming `option` when the URL is not valid (never with its password).
    static func configuration(_ text: String, option: String) throws -> StoreConfiguration {
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            do {
                return .postgres(try PostgresConfiguration(url: text))
            } catch let error as StoreError {
                throw ValidationError("\(option): \(error.description)")
            }
        }
        if lowered.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("\(option): sqlite: needs a path, as in sqlite:/var/lib/warden/warden.db.") }
            return .sqlite(path: path)
        }
        if let scheme = text.firstRange(of: "://").map({ text[..<$0.lowerBound] }), !scheme.contains("/") {
            throw ValidationError("\(option): \(scheme):// is not a store Warden knows; give a path, sqlite:PATH or a postgres:// URL.")
        }
        return .sqlite(path: text)
    }

    /// `configuration` for a command that walks a whole store (`audit verify`, `audit export`,
    /// `store migrate`): a PostgreSQL store's bound on one operation, meant for calls on the
    /// gateway's path (5 seconds by default), is raised to at least ``longOperationBound``.
    static func forWholeStore(_ configuration: StoreConfiguration) -> StoreConfiguration {
        guard case .postgres(var postgres) = configuration else { return configuration }
        postgres.queryTimeout = max(postgres.queryTimeout, longOperationBound)
        return .postgres(postgres)
    }

    /// How long one operation of a command that walks a whole store may take: 30 minutes.
    static let longOperationBound = Duration.seconds(30 * 60)

    /// `$WARDEN_DB`, when set and not empty.
    static var environmentPath: String? {
        ProcessInfo.processInfo.environment["WARDEN_DB"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Opens the store, or exits 2 saying why.
    func open() async throws -> any StateStore {
        try await Self.open(try store())
    }

    /// Opens the store for a command that only reads or changes what is in it (the audit
    /// log, approvals, grants and admin tokens), or exits 2 if there is none there: a
    /// mistyped `--db` must not read as an empty, intact audit log.
    func openExisting() async throws -> any StateStore {
        try await Self.open(try store(), creatingIfMissing: false)
    }

    /// ``openExisting()`` for a command that walks the whole store (``openWhole(_:creatingIfMissing:)``).
    func openExistingWhole() async throws -> any StateStore {
        try await Self.openWhole(try store(), creatingIfMissing: false)
    }

    /// Opens the store for a command that walks all of it, or exits 2 saying why: reached
    /// within the configuration's own bounds first, so that an unreachable PostgreSQL fails
    /// as fast as ever, then opened again with ``forWholeStore(_:)``'s.
    static func openWhole(_ configuration: StoreConfiguration, creatingIfMissing: Bool = true) async throws -> any StateStore {
        let store = try await open(configuration, creatingIfMissing: creatingIfMissing)
        let whole = forWholeStore(configuration)
        guard whole != configuration else { return store }
        try? await store.close()
        return try await open(whole, creatingIfMissing: false)
    }

    /// Opens the store `configuration` chooses, or exits 2 saying why.
    static func open(_ configuration: StoreConfiguration, creatingIfMissing: Bool = true) async throws -> any StateStore {
        try await open(configuration) { try await configuration.open(creatingIfMissing: creatingIfMissing) }
    }

    /// The store `opening` opens, where `configuration` says, or exits 2 saying why it cannot.
    static func open(_ configuration: StoreConfiguration, by opening: () async throws -> any StateStore) async throws -> any StateStore {
        do {
            return try await opening()
        } catch let error as StoreError where error.code == .notFound {
            let which = if case .postgres = configuration { "the database warden serve uses" } else { "the file that warden run or warden serve uses" }
            throw failure("\(error.description); give --db (or $WARDEN_DB) \(which)")
        } catch {
            throw failure("cannot open the database \(configuration.location): \(error)")
        }
    }
}

/// The `--config` option: a gateway configuration, by default `$WARDEN_CONFIG`.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The gateway configuration (YAML or JSON) (default: $WARDEN_CONFIG).", valueName: "file"))
    var config: String?

    /// `--config`, else `$WARDEN_CONFIG`; `nil` when neither is given.
    var path: String? { Self.path(config) }

    /// `config`, else `$WARDEN_CONFIG`; `nil` when neither is given.
    static func path(_ config: String?) -> String? {
        config ?? ProcessInfo.processInfo.environment["WARDEN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The configuration at `path`, or exit 2 after printing every problem in it.
    static func load(_ path: String) throws -> GatewayConfiguration {
        do {
            return try GatewayConfiguration.load(PolicyFiles.read(path), file: path, environment: ProcessInfo.processInfo.environment)
        } catch let error as PolicyLoadError {
            error.problems.forEach { printError($0.description) }
            throw failure("\(path) is not a valid gateway configuration")
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
