import Foundation
public import ServiceLifecycle

/// Which backend keeps Warden's state, and where: this is where the store is chosen. The
/// gateway configuration's `store:` key and the CLI's `--db` map onto it. Each case is one
/// backend; another backend is another case, opened in ``open(creatingIfMissing:)``.
///
/// ```swift
/// let store = try await StoreConfiguration.sqlite(path: "/var/lib/warden/warden.db").open()
/// let shared = try await StoreConfiguration.postgres(try PostgresConfiguration(url: "postgres://warden@db/warden")).open()
/// ```
public enum StoreConfiguration: Sendable, Equatable {
    /// One SQLite file (``SQLiteStore``), which several processes on one host may share
    /// (`store: {sqlite: PATH}`).
    case sqlite(path: String)
    /// A PostgreSQL database (``PostgresStore``) that several gateway instances share
    /// (`store: {postgres: URL}`).
    case postgres(PostgresConfiguration)

    /// SQLite at ``SQLiteStore/defaultPath(environment:)``.
    public static var `default`: StoreConfiguration { .sqlite(path: SQLiteStore.defaultPath()) }

    /// Opens the store, bringing its schema up to date.
    /// - Parameter creatingIfMissing: Whether to create a store that does not exist yet. The
    ///   default is `true`; commands that only read or change what is there pass `false`, so
    ///   a mistyped location does not read as an empty, intact audit log.
    /// - Throws: ``StoreError`` (`notFound`) when the store does not exist and may not be
    ///   created; the backend's error when it cannot be opened.
    public func open(creatingIfMissing: Bool = true) async throws -> any StateStore {
        switch self {
        case .sqlite(let path):
            guard creatingIfMissing || FileManager.default.fileExists(atPath: path) else {
                throw StoreError(.notFound, "no Warden database at \(path)")
            }
            return try SQLiteStore(path: path)
        case .postgres(let configuration):
            return try await PostgresStore.open(configuration, creatingIfMissing: creatingIfMissing)
        }
    }

    /// The store as a service group opens it (`warden serve`): the group runs
    /// ``StoreInGroup/services`` (PostgreSQL's connection pool; none for SQLite), listed before
    /// the services that use the store so that a graceful shutdown stops them last, after the
    /// audit log's final flush; a service of the group then calls ``StoreInGroup/open()``.
    /// - Throws: ``StoreError`` (`invalidRequest`) for a CA file that cannot be read.
    public func openInGroup(creatingIfMissing: Bool = true) throws -> StoreInGroup {
        switch self {
        case .sqlite:
            return StoreInGroup(services: []) { try await open(creatingIfMissing: creatingIfMissing) }
        case .postgres(let configuration):
            let store = try PostgresStore(configuration: configuration, logger: PostgresStore.silentLogger, runsPool: false)
            return StoreInGroup(services: [store.pool]) {
                try await store.migrate(creatingIfMissing: creatingIfMissing)
                return store
            }
        }
    }

    /// Where the store is, in words for messages and logs (never a password).
    public var location: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let configuration): configuration.location
        }
    }
}

/// A store whose background services run in a service group (``StoreConfiguration/openInGroup(creatingIfMissing:)``).
public struct StoreInGroup: Sendable {
    /// What the group runs first: the services the store needs running before it opens.
    public let services: [any Service]
    private let opening: @Sendable () async throws -> any StateStore

    init(services: [any Service], opening: @escaping @Sendable () async throws -> any StateStore) {
        self.services = services
        self.opening = opening
    }

    /// Opens the store (bringing its schema up to date) once ``services`` run. Call it once.
    /// - Throws: As ``StoreConfiguration/open(creatingIfMissing:)``.
    public func open() async throws -> any StateStore {
        try await opening()
    }
}
