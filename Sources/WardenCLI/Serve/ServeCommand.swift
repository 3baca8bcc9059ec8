import ArgumentParser
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import WardenGateway
import WardenPolicy
import WardenStore

/// `warden serve --config FILE`
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP gateway: many MCP servers, each at /mcp/<server>, for callers with grant tokens.",
        discussion: """
            Clients connect with MCP's Streamable HTTP transport (any revision, including the \
            stateless 2026-07-28) to http://HOST:PORT/mcp/<server>, or with the legacy SSE \
            transport to /sse/<server>; /mcp offers every server a caller reaches at once \
            (<server>__<tool>). They send `Authorization: Bearer <token>`: a grant token (see \
            `warden grants create`) or, with auth.jwt configured, a JWT. Every session gets its \
            own server process (one shared process with `shared: true`, or a remote session), \
            policed like `warden run`. Operators get /healthz, /readyz and /metrics (Prometheus), \
            and approve held calls at /admin (dashboard) or /admin/api with an admin token \
            (`warden admins create`). Policies reload when their files \
            change or on SIGHUP. SIGTERM or SIGINT: stop accepting work, finish calls in \
            flight, end the sessions, flush the audit log, close the store. --host and --port \
            override the configuration's listen, so several instances can run from one \
            configuration file (with a PostgreSQL store they share their state). Exits 2 when \
            the configuration is invalid. Reference: docs/serve.md.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The gateway configuration (YAML or JSON) (default: $WARDEN_CONFIG); check it with `warden config check`.", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "The store, overriding the configuration's store: a SQLite path (or sqlite:PATH) or a postgres:// URL "
                + "(default: $WARDEN_DB, else the configuration's store).",
            valueName: "path-or-url"))
    var db: String?

    @Option(help: ArgumentHelp("The address to listen on, overriding the configuration's listen.host.", valueName: "address"))
    var host: String?

    @Option(
        help: ArgumentHelp(
            "The port to listen on, overriding the configuration's listen.port; 0 picks a free one (logged at start).", valueName: "port"))
    var port: Int?

    func validate() throws {
        if ConfigurationOptions.path(config) == nil {
            throw ValidationError("Missing expected argument '--config <file>' (or set $WARDEN_CONFIG).")
        }
        if let port, !(0...65535).contains(port) { throw ValidationError("--port takes 0 to 65535; got \(port).") }
        if let host, host.isEmpty { throw ValidationError("--host must not be empty.") }
        if let db { _ = try DatabaseOptions.configuration(db, option: "--db") }
    }

    @OptionGroup var checkpoints: AuditCheckpointOptions

    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.bootstrap()
        guard let config = ConfigurationOptions.path(config) else { throw ExitCode(2) }
        var loaded = try ConfigurationOptions.load(config)
        loaded.listen = try Self.listen(loaded.listen, host: host, port: port)
        let configuration = loaded
        let storeConfiguration = try DatabaseOptions.store(db: db, fallback: configuration.store)
        let storeInGroup: StoreInGroup
        do {
            storeInGroup = try storeConfiguration.openInGroup()
        } catch {
            throw failure("cannot open the database \(storeConfiguration.location): \(error)")
        }
        // The gateway's audit writer keeps checkpoints as these options say.
        let checkpointLog = AuditCheckpointLog(logger: logger)
        AuditCheckpointing.standard = try checkpoints.checkpointing(log: checkpointLog)
        defer { checkpointLog.finish() }
        // The store's services (PostgreSQL's connection pool) first: the gateway, which handles
        // the signals itself, stops before them, and when it has stopped, so does the group.
        let gateway = GatewayService { [self] in
            let store = try await DatabaseOptions.open(storeConfiguration) { try await storeInGroup.open() }
            try await serve(configuration, from: config, store: store, at: storeConfiguration.location, logger: logger)
        }
        var group = ServiceGroupConfiguration(
            services: storeInGroup.services.map { .init(service: $0) }
                + [.init(service: gateway, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: logger)
        // Closing the pool takes a moment; were it to hang, the group cancels it.
        group.maximumGracefulShutdownDuration = .seconds(1)
        try await ServiceGroup(configuration: group).run()
    }

    /// Runs the gateway on `store` until it stops, then closes the store.
    private func serve(
        _ configuration: GatewayConfiguration, from config: String, store: any StateStore, at location: String, logger: Logger
    ) async throws {
        let gateway: HTTPGateway
        do {
            gateway = try await HTTPGateway(configuration: configuration, store: store, logger: logger)
        } catch {
            try? await store.close()
            guard let error = error as? PolicyLoadError else { throw failure("\(error)") }
            error.problems.forEach { printError($0.description) }
            throw failure("a policy named in \(config) is not valid")
        }
        signal(SIGHUP, SIG_IGN)
        // A server that exits while a message is on its way to its stdin must not end the gateway.
        signal(SIGPIPE, SIG_IGN)
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        reload.setEventHandler { gateway.reloadPolicies() }
        reload.resume()
        defer { reload.cancel() }
        let host = configuration.listen.host
        let outcome: Result<Void, ExitCode>
        do {
            try await gateway.run { port in
                logger.notice("warden serve listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)", metadata: [
                    "servers": "\(configuration.servers.map(\.name).joined(separator: ","))", "db": "\(location)",
                ])
            }
            outcome = .success(())
        } catch let error as HTTPGateway.ListenFailure {
            outcome = .failure(failure(error.description))
        } catch {
            outcome = .failure(failure("the gateway stopped: \(error)"))
        }
        // The gateway has flushed its audit log: the store can close (a pool the group runs
        // stops after this service).
        do {
            try await store.close()
        } catch {
            logger.error("closing the store failed", metadata: ["store": "\(location)", "error": "\(error)"])
        }
        try outcome.get()
    }

    /// The configuration's listener with `--host` and `--port` applied. Exits 2 when the
    /// configuration serves anonymously and `--host` is not a loopback address: anonymous
    /// mode is for loopback development only, whoever chooses the address.
    static func listen(_ listen: GatewayConfiguration.Listen, host: String?, port: Int?) throws -> GatewayConfiguration.Listen {
        var listen = listen
        if let host { listen.host = host }
        if let port { listen.port = port }
        if listen.anonymous, let host, !["127.0.0.1", "::1", "localhost"].contains(host) {
            throw failure("--host \(host): the configuration serves anonymously (listen.anonymous), which is for loopback development only")
        }
        return listen
    }
}

/// A service that runs `body` once: `warden serve`'s gateway, in the group that runs its store.
struct GatewayService: Service {
    let body: @Sendable () async throws -> Void

    func run() async throws {
        try await body()
    }
}
