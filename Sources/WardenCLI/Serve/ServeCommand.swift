import ArgumentParser
import Dispatch
import Foundation
import Logging
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
            flight, end the sessions, flush the audit log. Exits 2 when the configuration is \
            invalid. Reference: docs/serve.md.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The gateway configuration (YAML or JSON) (default: $WARDEN_CONFIG); check it with `warden config check`.", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "The SQLite database, overriding the configuration's store.sqlite (default: $WARDEN_DB, else store.sqlite).", valueName: "path"))
    var db: String?

    func validate() throws {
        if ConfigurationOptions.path(config) == nil {
            throw ValidationError("Missing expected argument '--config <file>' (or set $WARDEN_CONFIG).")
        }
    }

    @OptionGroup var checkpoints: AuditCheckpointOptions

    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.bootstrap()
        guard let config = ConfigurationOptions.path(config) else { throw ExitCode(2) }
        let configuration = try ConfigurationOptions.load(config)
        let storeConfiguration = DatabaseOptions.store(db: db, fallback: configuration.store)
        let store = try await DatabaseOptions.open(storeConfiguration)
        // The gateway's audit writer keeps checkpoints as these options say.
        let checkpointLog = AuditCheckpointLog(logger: logger)
        AuditCheckpointing.standard = try checkpoints.checkpointing(log: checkpointLog)
        defer { checkpointLog.finish() }
        let gateway: HTTPGateway
        do {
            gateway = try await HTTPGateway(configuration: configuration, store: store, logger: logger)
        } catch let error as PolicyLoadError {
            error.problems.forEach { printError($0.description) }
            throw failure("a policy named in \(config) is not valid")
        } catch {
            throw failure("\(error)")
        }
        signal(SIGHUP, SIG_IGN)
        // A server that exits while a message is on its way to its stdin must not end the gateway.
        signal(SIGPIPE, SIG_IGN)
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        reload.setEventHandler { gateway.reloadPolicies() }
        reload.resume()
        defer { reload.cancel() }
        let host = configuration.listen.host
        do {
            try await gateway.run { port in
                logger.notice("warden serve listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)", metadata: [
                    "servers": "\(configuration.servers.map(\.name).joined(separator: ","))", "db": "\(storeConfiguration.location)",
                ])
            }
        } catch let error as HTTPGateway.ListenFailure {
            throw failure(error.description)
        } catch {
            throw failure("the gateway stopped: \(error)")
        }
    }
}
