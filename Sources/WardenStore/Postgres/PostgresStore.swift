import Logging
public import PostgresNIO
public import WardenPolicy

/// Warden's state in PostgreSQL, shared by several gateway instances: counters exact across
/// all of them, one audit chain, grants, approvals (announced with LISTEN/NOTIFY) and admin
/// tokens.
///
/// Its connection pool (`PostgresClient`) runs one of two ways. Opened with
/// ``open(_:creatingIfMissing:logger:)`` (a CLI command, a test), the store runs the pool in a
/// task of its own until ``close()``. Opened in a service group (`warden serve`, through
/// ``StoreConfiguration/openInGroup(creatingIfMissing:)``), the pool is a service of the
/// group, listed before the services that use the store: a graceful shutdown stops it last,
/// after the audit log's final flush. Every
/// operation is bounded by ``PostgresConfiguration/queryTimeout``: when PostgreSQL is down or
/// unreachable, operations fail with a ``StoreError`` (`unavailable`) within that bound, and
/// succeed again by themselves once it is back (the pool opens new connections). An
/// operation that timed out may still complete in the database later (a reservation then
/// stays counted although its call was refused): counts err on the side of refusing, never
/// of allowing more than `max`.
///
/// ```swift
/// let store = try await PostgresStore.open(try PostgresConfiguration(url: "postgres://warden@db/warden"))
/// defer { Task { try await store.close() } }
/// ```
public final class PostgresStore: StateStore {
    let database: PostgresDatabase
    /// The pool's task when the store runs the pool itself; `nil` when a service group does.
    private let running: Task<Void, Never>?
    /// The connection pool, as a service for a group to run (when the store does not).
    let pool: PostgresClient
    let ledger: PostgresCounterLedger
    let announcer: ChannelListener
    let grantCache: GrantCache
    let grantListener: ChannelListener
    let auditStore: PostgresAuditStore

    /// Where the store is (never with the password).
    public let location: String

    /// - Parameter runsPool: Whether the store runs its pool itself (else a service group does).
    init(configuration: PostgresConfiguration, logger: Logger, runsPool: Bool) throws {
        let client = PostgresClient(configuration: try Self.clientConfiguration(configuration), backgroundLogger: logger)
        pool = client
        // Detached: `PostgresClient.run()` also ends at a graceful shutdown (ServiceLifecycle's
        // task local, which a plain Task would inherit from a service that opens the store).
        running = runsPool ? Task.detached { await client.run() } : nil
        location = configuration.location
        database = PostgresDatabase(client: client, location: location, timeout: configuration.queryTimeout, logger: logger)
        ledger = PostgresCounterLedger(database: database)
        announcer = ChannelListener(database: database, channel: PostgresApprovalStore.channel)
        grantListener = ChannelListener(database: database, channel: PostgresGrantStore.channel)
        grantCache = GrantCache(signal: grantListener)
        auditStore = PostgresAuditStore(database: database)
    }

    /// Opens the store at `configuration` and brings its schema up to date.
    /// - Parameters:
    ///   - creatingIfMissing: Whether to create Warden's tables in a database without them.
    ///     The default is `true`.
    ///   - logger: Where the pool logs its background work. The default logs nothing.
    /// - Throws: ``StoreError``: `notFound` without Warden's tables when they may not be
    ///   created; `unavailable` when PostgreSQL cannot be reached within the configuration's
    ///   bounds, or its schema is newer than this binary's; `invalidRequest` for a CA file
    ///   that cannot be read.
    public static func open(
        _ configuration: PostgresConfiguration, creatingIfMissing: Bool = true,
        logger: Logger = PostgresStore.silentLogger
    ) async throws -> PostgresStore {
        let store = try PostgresStore(configuration: configuration, logger: logger, runsPool: true)
        do {
            try await store.migrate(creatingIfMissing: creatingIfMissing)
        } catch {
            // Not waiting for the pool to wind down: the caller hears of the failure at once.
            store.stopListening()
            store.running?.cancel()
            throw error
        }
        return store
    }

    /// The pool's logger when none is given: it logs nothing.
    public static let silentLogger = Logger(label: "warden.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Brings the schema up to date (once the pool runs).
    func migrate(creatingIfMissing: Bool) async throws {
        try await PostgresSchema.migrate(database, creatingIfMissing: creatingIfMissing)
    }

    public func checkReadable() async throws {
        try await database.query("SELECT 1", "checking the store")
    }

    /// Stops listening for approvals and grant changes and, when the store runs its pool
    /// itself, closes the pool's connections (a service group stops a pool it runs).
    public func close() async throws {
        stopListening()
        running?.cancel()
        await running?.value
    }

    private func stopListening() {
        announcer.stop()
        grantListener.stop()
    }

    public var counters: any CounterLedger { ledger }

    public var audit: any AuditStore { auditStore }

    public var grants: any GrantStore { PostgresGrantStore(database: database, cache: grantCache) }

    public var approvals: any ApprovalStore { PostgresApprovalStore(database: database, announcer: announcer) }

    public var adminTokens: any AdminTokenStore { PostgresAdminTokenStore(database: database) }

    /// The pool's configuration: the server, credentials, TLS and bounds of `configuration`.
    static func clientConfiguration(_ configuration: PostgresConfiguration) throws -> PostgresClient.Configuration {
        var client = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username, password: configuration.password,
            database: configuration.database, tls: try tls(configuration.tls))
        client.options.maximumConnections = max(1, configuration.poolSize)
        client.options.connectTimeout = configuration.connectTimeout
        client.options.keepAliveBehavior = .init(frequency: .seconds(30))
        return client
    }

    /// TLS as postgres-nio takes it: `prefer` and `require` without verifying the
    /// certificate (as libpq), `verifyFull` against the CA file or the system's roots.
    static func tls(_ tls: PostgresConfiguration.TLS) throws -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch tls {
        case .disable: return .disable
        case .prefer: return .prefer(unverified)
        case .require: return .require(unverified)
        case .verifyFull(let caFile):
            var verified = TLSConfiguration.makeClientConfiguration()
            verified.certificateVerification = .fullVerification
            if let caFile {
                do {
                    verified.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw StoreError(.invalidRequest, "cannot read the CA file \(caFile) (sslrootcert)")
                }
            }
            return .require(verified)
        }
    }
}
