import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
public import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import WardenJSON
import WardenMCP
import WardenPolicy
public import WardenStore

/// `warden serve`: one gateway in front of many MCP servers, over HTTP.
///
/// Each server is reachable at `/mcp/<server>` (Streamable HTTP) and `/sse/<server>`
/// (legacy SSE); `/mcp` aggregates the tools of every server a caller reaches. Every session
/// gets a server process of its own, policed exactly like `warden run`; callers are
/// identified by their grant token or JWT. `/healthz`, `/readyz` and `/metrics` serve operators.
public final class HTTPGateway: Sendable {
    let configuration: GatewayConfiguration
    let servers: [String: GatewayConfiguration.Server]
    let store: any StateStore
    /// Where limits are counted: each session's counts in memory, the rest in the store.
    let counters: any CounterLedger
    let logger: Logger
    let audit: AuditWriter
    let policies: PolicyLibrary
    /// Verifies identity-provider JWTs, when `auth.jwt` is configured.
    let jwt: JWTVerifier?
    let metrics = GatewayMetrics()
    /// The open sessions, their idle sweeping and their drain at shutdown.
    let registry: SessionRegistry
    /// Where held calls wait for a decision, and who is told of them.
    let approvals: ApprovalDesk
    /// The port the server listens on, once it does.
    let boundPort: BoundPort
    /// The processes of the stdio servers configured `shared: true`, by server name.
    let sharedServers: [String: SharedServer]
    /// The connection pools remote servers are reached with (requests and streams apart).
    let remoteClients: RemoteClients
    /// The limits on connections: deadlines for requests to arrive, and how many may be open.
    let connections: ConnectionGuard
    /// Which instance this is, as session ids name it.
    let instance: GatewayInstance
    /// The pins of `pin:`, and each server's guard of its tool definitions (see `Pinning/`).
    let pinning: GatewayPinning

    /// Why the gateway cannot serve a configuration.
    public struct UnsupportedConfiguration: Error, CustomStringConvertible {
        public var description: String
    }

    /// Why the gateway could not listen (a port in use, an address not of this machine).
    public struct ListenFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads every policy the configuration names, and the JWT signing keys if any.
    /// - Throws: ``UnsupportedConfiguration`` for upstreams this version cannot reach yet; the
    ///   policy or key loading error.
    public init(configuration: GatewayConfiguration, store: any StateStore, logger: Logger) async throws {
        self.configuration = configuration
        self.servers = Dictionary(configuration.servers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.store = store
        self.counters = store.sessionLocalCounters()
        self.logger = logger
        self.audit = AuditWriter(log: store.audit) { error in
            logger.error("audit log write failed; records are kept and retried", metadata: ["error": "\(error)"])
        }
        var sharedServers: [String: SharedServer] = [:]
        for server in configuration.servers {
            guard case .stdio(let command, let environment, shared: true) = server.upstream else { continue }
            sharedServers[server.name] = SharedServer(
                configuration: .init(
                    serverName: server.name, command: command, environment: environment, maxMessageBytes: configuration.limits.maxBodyBytes,
                    maxDepth: configuration.limits.maxDepth, startTimeout: .seconds(configuration.limits.upstreamTimeoutSeconds)),
                logger: logger)
        }
        self.sharedServers = sharedServers
        self.remoteClients = RemoteClients(
            connectionsPerHost: configuration.limits.upstreamConnectionsPerHost, streamsPerHost: configuration.limits.upstreamStreamsPerHost,
            upstreamTimeout: .seconds(configuration.limits.upstreamTimeoutSeconds))
        self.connections = ConnectionGuard(configuration.listen, metrics: metrics)
        self.instance = GatewayInstance(configured: configuration.listen.instance)
        let boundPort = BoundPort()
        self.boundPort = boundPort
        self.registry = SessionRegistry(
            limits: configuration.limits, sharedServers: Array(sharedServers.values), metrics: metrics, logger: logger,
            hasListened: { boundPort.isListening })
        let host = configuration.listen.host
        self.approvals = ApprovalDesk(
            store: store.approvals,
            announce: ApprovalWebhook.announcer(configuration.approvals, dashboard: { "http://\(host):\(boundPort.value)" }, logger: logger),
            revocation: Self.revocation(in: store))
        self.pinning = try GatewayPinning(configuration: configuration, logger: logger)
        self.policies = PolicyLibrary(logger: logger)
        for server in configuration.servers { _ = try policies.file(at: server.policyPath) }
        if let policy = configuration.jwt?.policyPath { _ = try policies.file(at: policy) }
        if let jwt = configuration.jwt {
            self.jwt = try await JWTVerifier(configuration: jwt, logger: logger)
        } else {
            self.jwt = nil
        }
        if configuration.listen.anonymous {
            logger.warning("ANONYMOUS MODE: every caller is served without a grant token; for loopback development only")
        }
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting sessions, lets calls in flight
    /// finish, ends every session and flushes the audit log, all within
    /// `limits.shutdown_timeout`. `listening` gets the bound port.
    /// - Throws: ``ListenFailure`` when the address cannot be listened on.
    public func run(listening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let application = Application(
            router: makeRouter(),
            server: connections.http1(),
            configuration: .init(address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: "warden"),
            onServerRunning: { [boundPort, instance, configuration, logger, audit] channel in
                instance.listened(host: configuration.listen.host, port: channel.localAddress?.port ?? 0)
                boundPort.listened(on: channel.localAddress?.port ?? 0)
                logger.info("instance named", metadata: ["instance": "\(instance.name)"])
                // Calls this instance left in flight when it last stopped, wherever it ran.
                Task { await audit.recoverInterrupted(instance: instance.name) }
                listening(boundPort.value)
            },
            logger: logger
        )
        Self.raiseOpenFileLimit(needed: configuration.listen.maxConnections * 3, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [AuditService(audit: audit), application, registry],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        approvals.announcements.subscribeNow()
        let keyRefresh = Task { await jwt?.refreshPeriodically() }
        Task { await approvals.closeAbandoned(logger: logger) }
        defer { keyRefresh.cancel() }
        // The service group, or the shutdown bound, whichever ends first: something stuck (a
        // connection, a request, a server) must not hold the process past the bound.
        let (ended, end) = AsyncStream<Result<Void, any Error>?>.makeStream()
        Task {
            do {
                try await group.run()
                end.yield(.success(()))
            } catch {
                end.yield(.failure(error))
            }
        }
        let bound = Task { [connections, registry] in
            for await deadline in registry.shutdownBegan.stream {
                // A moment before the bound, connections still open are closed: their requests end, and so
                // can the HTTP server; at the bound, Warden stops waiting.
                try? await Task.sleep(until: deadline - .milliseconds(750))
                if Task.isCancelled { return }
                connections.closeAll()
                try? await Task.sleep(until: deadline)
                if !Task.isCancelled { end.yield(nil) }
                return
            }
        }
        defer { bound.cancel() }
        var outcomes = ended.makeAsyncIterator()
        switch await outcomes.next() ?? nil {
        case .success?:
            policies.stopWatching()
            await remoteClients.shutdown()
        case .failure(let error)?:
            policies.stopWatching()
            await remoteClients.shutdown()
            guard boundPort.isListening else { throw Self.listenFailure(error, listen: configuration.listen) }
            throw error
        case nil:
            // The bound passed: flush what the audit log holds and leave the rest behind.
            let open = connections.closeAll()
            let killed = ServerProcess.killAll()
            logger.warning(
                "shutdown took longer than limits.shutdown_timeout; exiting anyway",
                metadata: ["bound": "\(configuration.limits.shutdownTimeoutSeconds)s", "connections_closed": "\(open)", "servers_killed": "\(killed)"])
            await audit.flush()
            policies.stopWatching()
        }
    }

    /// Raises the soft limit on open files to the hard one: every connection, every
    /// connection to a remote server and every server process's pipes take descriptors, and
    /// the usual soft limit (1024) is below what `listen.max_connections` alone may take.
    static func raiseOpenFileLimit(needed: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { limit = raised }
        }
        if limit.rlim_cur < rlim_t(needed) {
            logger.warning(
                "the open file limit is low for listen.max_connections; raise it (ulimit -n) or lower max_connections",
                metadata: ["limit": "\(limit.rlim_cur)", "max_connections": "\(needed / 3)"])
        }
    }

    /// What to say when the gateway could not listen: the service group's error, read.
    static func listenFailure(_ error: any Error, listen: GatewayConfiguration.Listen) -> ListenFailure {
        let address = listen.host.contains(":") ? "[\(listen.host)]:\(listen.port)" : "\(listen.host):\(listen.port)"
        guard let error = error as? IOError else { return ListenFailure(description: "cannot listen on \(address): \(error)") }
        switch error.errnoCode {
        case EADDRINUSE:
            return ListenFailure(description: "port \(listen.port) is in use; set listen.port or stop the other process")
        case EACCES:
            return ListenFailure(description: "cannot listen on port \(listen.port): permission denied (ports below 1024 need privileges); set listen.port")
        case EADDRNOTAVAIL:
            return ListenFailure(description: "cannot listen on \(listen.host): not an address of this machine; set listen.host")
        default:
            return ListenFailure(description: "cannot listen on \(address): \(String(cString: strerror(error.errnoCode)))")
        }
    }

    /// Reloads every policy file now (SIGHUP).
    public func reloadPolicies() {
        policies.reloadAll()
    }

    // MARK: - Sessions

    /// Opens a session of `caller` with `server`: starts its process behind a policing gateway.
    /// A `registered` session can be found by its id; the members of an aggregated session
    /// are not (they are reached through it).
    func openSession(
        for caller: Caller, server: GatewayConfiguration.Server, answersOnStream: Bool = false, hasBackChannel: Bool = true,
        callerAskedByTransport: Bool = false, registered: Bool = true
    ) throws -> HTTPSession {
        let policy = try policies.file(at: caller.policyPath ?? server.policyPath)
        let session = HTTPSession(
            id: instance.newIdentifier(), owner: caller.owner, serverName: server.name, answersOnStream: answersOnStream, hasBackChannel: hasBackChannel, logger: logger)
        if registered { try registry.add(session) }
        let limits = configuration.limits
        var gatewayConfiguration = SessionPipeline.Configuration(
            serverName: server.name, identity: caller.identity, maxMessageBytes: limits.maxBodyBytes, maxDepth: limits.maxDepth,
            approvals: approvals, auditedArguments: configuration.audit.auditedArguments)
        gatewayConfiguration.callerAskedByTransport = callerAskedByTransport
        gatewayConfiguration.definitionGuard = pinning.guards[server.name]
        let makeGateway = { [gatewayConfiguration] (session: HTTPSession) in
            SessionPipeline(
                configuration: gatewayConfiguration,
                policy: policy, ledger: self.counters, audit: self.audit, logger: self.logger, client: session, metrics: self.metrics)
        }
        do {
            switch server.upstream {
            case .stdio(let command, let environment, shared: false):
                try session.start(command: command, environment: environment, makeGateway: makeGateway) { [weak self] session, status in
                    self?.registry.end(session, status: status)
                }
            case .stdio(_, _, shared: true):
                guard let shared = sharedServers[server.name] else { throw UnsupportedConfiguration(description: "no shared process for \(server.name)") }
                session.startShared(shared, makeGateway: makeGateway) { [weak self] session, status in
                    self?.registry.end(session, status: status)
                }
            case .streamableHTTP(let url, let headers), .sse(let url, let headers):
                let legacySSE = if case .sse = server.upstream { true } else { false }
                session.startRemote(
                    .init(
                        serverName: server.name, url: url, headers: headers, timeout: .seconds(limits.upstreamTimeoutSeconds),
                        maxMessageBytes: limits.maxBodyBytes, clients: remoteClients),
                    legacySSE: legacySSE, makeGateway: makeGateway)
            }
        } catch {
            registry.end(session)
            throw error
        }
        logger.info("session opened", metadata: ["server": "\(server.name)", "caller": "\(caller.owner)"])
        return session
    }

    /// Stateless requests (2026-07-28), served through sessions this gateway opens for them.
    var stateless: StatelessEndpoint {
        StatelessEndpoint(
            registry: registry, approvals: store.approvals, instance: instance, metrics: metrics, logger: logger,
            timeout: .seconds(configuration.limits.upstreamTimeoutSeconds),
            openSession: { caller, server in
                try self.openSession(for: caller, server: server, hasBackChannel: false, callerAskedByTransport: true, registered: false)
            },
            openAggregate: { caller, servers in try self.openAggregate(for: caller, servers: servers, hasBackChannel: false) })
    }
}

/// The port the gateway listens on (known once it does: the configuration may say 0).
final class BoundPort: Sendable {
    private let port = Atomic<Int>(0)
    private let listening = Atomic<Bool>(false)

    var value: Int { port.load(ordering: .relaxed) }

    /// Whether the server has listened (a gateway that never could has nothing to drain).
    var isListening: Bool { listening.load(ordering: .sequentiallyConsistent) }

    func listened(on port: Int) {
        self.port.store(port, ordering: .relaxed)
        listening.store(true, ordering: .sequentiallyConsistent)
    }
}

/// Runs the audit writer until shutdown, then lets it write what it holds.
struct AuditService: Service {
    let audit: AuditWriter

    func run() async throws {
        await cancelWhenGracefulShutdown { await audit.run() }
        await audit.flush()
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
