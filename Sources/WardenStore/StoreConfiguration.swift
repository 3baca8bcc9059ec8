import Foundation

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

    /// Where the store is, in words for messages and logs (never a password).
    public var location: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let configuration): configuration.location
        }
    }
}
