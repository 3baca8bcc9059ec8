import Foundation

/// Where a PostgreSQL store is and how to reach it: the server, the credentials, TLS, the
/// connection pool and the time bounds. Several `warden serve` instances share one database.
///
/// ```swift
/// let configuration = try PostgresConfiguration(url: "postgres://warden@db:5432/warden?sslmode=require")
/// let store = try await StoreConfiguration.postgres(configuration).open()
/// ```
public struct PostgresConfiguration: Sendable, Equatable {
    /// Whether and how connections use TLS, as libpq's `sslmode`.
    public enum TLS: Sendable, Equatable {
        /// Plain connections only (`sslmode=disable`).
        case disable
        /// TLS when the server offers it, else plain (`sslmode=prefer`, libpq's default;
        /// `allow` maps here too). The certificate is not verified.
        case prefer
        /// TLS or no connection; the certificate is not verified (`sslmode=require`).
        case require
        /// TLS with the certificate verified against `caFile` (PEM), or the system's roots
        /// when nil, and the host name checked (`verify-full`; `verify-ca` maps here too,
        /// which is stricter).
        case verifyFull(caFile: String?)
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port. The default is 5432.
    public var port: Int
    /// The role to connect as.
    public var username: String
    /// The role's password, if the server asks for one.
    public var password: String?
    /// The database holding Warden's tables.
    public var database: String
    /// TLS. The default is ``TLS/prefer``.
    public var tls: TLS
    /// Connections this process keeps at most. The default is 16.
    public var poolSize: Int
    /// How long opening one connection may take. The default is 5 seconds.
    public var connectTimeout: Duration
    /// The bound on any one store operation, waiting for a connection included. The default is 5 seconds.
    public var queryTimeout: Duration

    /// A configuration from its parts.
    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        tls: TLS = .prefer, poolSize: Int = 16, connectTimeout: Duration = .seconds(5), queryTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
    }

    /// Where the store is, for messages and logs: `postgres://user@host:port/db`, never the password.
    public var location: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)@\(hostPart):\(port)/\(database)"
    }
}

extension PostgresConfiguration {
    /// Reads a libpq-style URL: `postgres://` or `postgresql://user:password@host:port/database`
    /// with the query parameters `sslmode` (disable, allow, prefer, require, verify-ca,
    /// verify-full; prefer when absent), `sslrootcert` (a CA file), `pool_size`,
    /// `connect_timeout` and `query_timeout` (whole seconds). The user and the password may be
    /// percent-encoded; without a database the user's name is the database's, as in libpq.
    /// - Throws: ``StoreError`` (`invalidRequest`) naming what is wrong, never the password.
    public init(url: String) throws {
        func invalid(_ what: String) -> StoreError {
            StoreError(.invalidRequest, "invalid PostgreSQL URL: \(what)")
        }
        guard let components = URLComponents(string: url) else {
            throw invalid("it is not a URL of the form postgres://user@host:port/database")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw invalid("no host (postgres://user@HOST:5432/database)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw invalid("no user name (postgres://USER@\(host)/database)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range") }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        guard !database.contains("/") else { throw invalid("the database name \"\(database)\" contains a slash") }
        if database.isEmpty { database = user }

        self.init(
            host: host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host,
            port: port, username: user, password: components.password, database: database)

        var sslMode = "prefer"
        var rootCertificate: String?
        var seen = Set<String>()
        for item in components.queryItems ?? [] {
            guard seen.insert(item.name).inserted else { throw invalid("the parameter \(item.name) is given twice") }
            let value = item.value ?? ""
            switch item.name {
            case "sslmode": sslMode = value
            case "sslrootcert": rootCertificate = value.isEmpty ? nil : value
            case "pool_size":
                guard let size = Int(value), (1...1000).contains(size) else {
                    throw invalid("pool_size must be a whole number from 1 to 1000, not \"\(value)\"")
                }
                poolSize = size
            case "connect_timeout": connectTimeout = try Self.seconds(value, named: item.name)
            case "query_timeout": queryTimeout = try Self.seconds(value, named: item.name)
            default:
                throw invalid(
                    "unknown parameter \"\(item.name)\" (known: sslmode, sslrootcert, pool_size, connect_timeout, query_timeout)")
            }
        }
        switch sslMode {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer
        case "require": tls = rootCertificate.map { .verifyFull(caFile: $0) } ?? .require
        case "verify-ca", "verify-full": tls = .verifyFull(caFile: rootCertificate)
        default:
            throw invalid("sslmode \"\(sslMode)\" is not one of disable, allow, prefer, require, verify-ca, verify-full")
        }
        if rootCertificate != nil, tls == .disable || tls == .prefer {
            throw invalid("sslrootcert needs sslmode=verify-full (or verify-ca, require); it is \(sslMode)")
        }
    }

    /// A positive whole number of seconds.
    private static func seconds(_ value: String, named name: String) throws -> Duration {
        guard let seconds = Int(value), seconds > 0, seconds <= 3600 else {
            throw StoreError(.invalidRequest, "invalid PostgreSQL URL: \(name) must be a whole number of seconds from 1 to 3600, not \"\(value)\"")
        }
        return .seconds(seconds)
    }
}
