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
    let store: SQLiteStore
    /// Where limits are counted: each session's counts in memory, the rest in the store.
    let counters: SessionLocalCounterLedger<SQLiteCounterLedger>
    let logger: Logger
    let audit: AuditWriter
    let policies: PolicyLibrary
    /// Verifies identity-provider JWTs, when `auth.jwt` is configured.
    let jwt: JWTVerifier?
    let metrics = GatewayMetrics()
    let sessions = Mutex<[String: HTTPSession]>([:])
    let aggregates = Mutex<[String: AggregateSession]>([:])
    /// Sessions Warden opened itself to serve stateless (2026-07-28) requests, one per caller
    /// and server, while they are being set up or in use.
    let statelessSessions = Mutex<[String: Task<StatelessSession, any Error>]>([:])
    /// Set once shutdown begins: new requests are refused while calls in flight finish.
    let draining = Atomic<Bool>(false)
    /// Where held calls wait for a decision, and who is told of them.
    let approvals: ApprovalDesk
    /// The port the server listens on, once it does.
    let boundPort: BoundPort
    /// The processes of the stdio servers configured `shared: true`, by server name.
    let sharedServers: [String: SharedServer]
    let inFlight = Atomic<Int>(0)
    /// The connection pools remote servers are reached with (requests and streams apart).
    let remoteClients: RemoteClients
    /// The limits on connections: deadlines for requests to arrive, and how many may be open.
    let connections: ConnectionGuard
    /// The sessions each caller (by owner: a grant id, `jwt:<name>`, `anonymous`) has open.
    let sessionCounts = Mutex<[String: Int]>([:])
    /// Told once, when shutdown begins, of its bound (the instant by which Warden exits).
    let shutdownBegan = AsyncStream<ContinuousClock.Instant>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// Whether the server has listened (a gateway that never could has nothing to drain).
    let isListening = Atomic<Bool>(false)

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
    public init(configuration: GatewayConfiguration, store: SQLiteStore, logger: Logger) async throws {
        self.configuration = configuration
        self.servers = Dictionary(configuration.servers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.store = store
        self.counters = SessionLocalCounterLedger(shared: store.counters)
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
            connectionsPerHost: configuration.limits.upstreamConnectionsPerHost, streamsPerHost: configuration.limits.upstreamStreamsPerHost)
        self.connections = ConnectionGuard(configuration.listen, metrics: metrics)
        let boundPort = BoundPort()
        self.boundPort = boundPort
        let host = configuration.listen.host
        self.approvals = ApprovalDesk(
            store: store.approvals,
            announce: ApprovalWebhook.announcer(configuration.approvals, dashboard: { "http://\(host):\(boundPort.value)" }, logger: logger),
            revocation: Self.revocation(in: store))
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
            onServerRunning: { [boundPort, self] channel in
                boundPort.value = channel.localAddress?.port ?? 0
                self.isListening.store(true, ordering: .sequentiallyConsistent)
                listening(boundPort.value)
            },
            logger: logger
        )
        Self.raiseOpenFileLimit(needed: configuration.listen.maxConnections * 3, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [AuditService(audit: audit), application, SessionDrain(gateway: self)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let keyRefresh = Task { await jwt?.refreshPeriodically() }
        let reaper = Task { await endIdleSessions() }
        Task { await approvals.closeAbandoned(logger: logger) }
        defer {
            keyRefresh.cancel()
            reaper.cancel()
        }
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
        let bound = Task { [connections, shutdownBegan] in
            for await deadline in shutdownBegan.stream {
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
            guard isListening.load(ordering: .sequentiallyConsistent) else { throw Self.listenFailure(error, listen: configuration.listen) }
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
            owner: caller.owner, serverName: server.name, answersOnStream: answersOnStream, hasBackChannel: hasBackChannel, logger: logger)
        if registered {
            try admitSession(of: caller.owner)
            sessions.withLock { $0[session.id] = session }
            metrics.sessionOpened()
        }
        let limits = configuration.limits
        var gatewayConfiguration = SessionPipeline.Configuration(
            serverName: server.name, identity: caller.identity, maxMessageBytes: limits.maxBodyBytes, maxDepth: limits.maxDepth,
            approvals: approvals, auditedArguments: configuration.audit.auditedArguments)
        gatewayConfiguration.callerAskedByTransport = callerAskedByTransport
        let makeGateway = { [gatewayConfiguration] (session: HTTPSession) in
            SessionPipeline(
                configuration: gatewayConfiguration,
                policy: policy, ledger: self.counters, audit: self.audit, logger: self.logger, client: session, metrics: self.metrics)
        }
        do {
            switch server.upstream {
            case .stdio(let command, let environment, shared: false):
                try session.start(command: command, environment: environment, makeGateway: makeGateway) { [weak self] session, status in
                    self?.sessionEnded(session, status: status)
                }
            case .stdio(_, _, shared: true):
                guard let shared = sharedServers[server.name] else { throw UnsupportedConfiguration(description: "no shared process for \(server.name)") }
                session.startShared(shared, makeGateway: makeGateway) { [weak self] session, status in
                    self?.sessionEnded(session, status: status)
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
            sessionEnded(session, status: nil)
            throw error
        }
        logger.info("session opened", metadata: ["server": "\(server.name)", "caller": "\(caller.owner)"])
        return session
    }

    /// The open session `id`, if `caller` opened it with `server`; anyone else is told it does not exist.
    func session(_ id: String, of caller: Caller, server: String) -> HTTPSession? {
        guard let session = sessions.withLock({ $0[id] }), !session.isClosed,
            session.owner == caller.owner, session.serverName == server
        else { return nil }
        return session
    }

    /// Ends a session (its client left or ended it, or its server exited with `status`).
    func sessionEnded(_ session: HTTPSession, status: Int32? = nil) {
        session.close()
        if let status { logger.info("server exited", metadata: ["server": "\(session.serverName)", "status": "\(status)"]) }
        guard sessions.withLock({ $0.removeValue(forKey: session.id) }) != nil else { return }
        releaseSession(of: session.owner)
        metrics.sessionClosed()
        logger.info("session ended", metadata: ["server": "\(session.serverName)"])
    }

    /// Counts a session of `owner` in, or refuses it (429) when they have
    /// `limits.max_sessions_per_grant` open: each session of a stdio server is a process.
    func admitSession(of owner: String) throws(MCPHTTPError) {
        let limit = configuration.limits.maxSessionsPerGrant
        let admitted = sessionCounts.withLock { counts in
            let open = counts[owner, default: 0]
            guard open < limit else { return false }
            counts[owner] = open + 1
            metrics.grantSessions(owner, open: open + 1)
            return true
        }
        guard admitted else {
            metrics.sessionRefused(owner)
            logger.warning("session refused: its caller has the most sessions allowed open", metadata: ["caller": "\(owner)", "limit": "\(limit)"])
            throw MCPHTTPError(
                .tooManyRequests,
                "Too many sessions: this caller has \(limit) sessions open, the most limits.max_sessions_per_grant allows. End sessions no longer used (DELETE with their Mcp-Session-Id; unused ones end after limits.session_idle_timeout), or raise limits.max_sessions_per_grant in the gateway configuration",
                code: -32000)  // a server error (JSON-RPC's -32000 to -32099): not the client's message's fault
        }
    }

    /// Counts a session of `owner` out.
    func releaseSession(of owner: String) {
        sessionCounts.withLock { counts in
            let open = max(0, counts[owner, default: 0] - 1)
            counts[owner] = open == 0 ? nil : open
            metrics.grantSessions(owner, open: open)
        }
    }

    /// Ends sessions nobody uses (clients that vanished without DELETE), with their server
    /// processes, checking a few times per timeout, until cancelled.
    func endIdleSessions() async {
        let timeout = Duration.seconds(configuration.limits.sessionIdleTimeoutSeconds)
        let interval = min(.seconds(30), timeout / 4)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let idle = sessions.withLock { $0.values.filter { $0.isIdle(for: timeout) } }
            let idleAggregates = aggregates.withLock { $0.values.filter { $0.isIdle(for: timeout) } }
            for session in idle {
                logger.info("ending an idle session", metadata: ["server": "\(session.serverName)"])
                sessionEnded(session)
            }
            idleAggregates.forEach(aggregateEnded)
            await endStatelessSessions(idleFor: timeout)
        }
    }

    /// Shutdown: refuse new work, give calls in flight up to the upstream timeout (within half
    /// the shutdown bound), then end every session and wait (a little) for their servers to
    /// exit. Starts the shutdown bound's clock.
    func drain() async {
        let started = ContinuousClock.now
        let bound = started + .seconds(configuration.limits.shutdownTimeoutSeconds)
        shutdownBegan.continuation.yield(bound)
        draining.store(true, ordering: .sequentiallyConsistent)
        logger.notice("shutting down: finishing calls in flight", metadata: ["bound": "\(configuration.limits.shutdownTimeoutSeconds)s"])
        // Held calls would wait for a person: they are answered now, their approvals closed.
        var reachable = sessions.withLock { Array($0.values) } + aggregates.withLock { $0.values.flatMap { $0.members.map(\.session) } }
        for opening in statelessSessions.withLock({ Array($0.values) }) {
            if let stateless = try? await opening.value { reachable += stateless.sessions }
        }
        for session in reachable { await session.cancelHeldCalls(because: "the gateway is shutting down") }
        let deadline = min(ContinuousClock.now + .seconds(configuration.limits.upstreamTimeoutSeconds), started + (bound - started) / 2)
        while inFlight.load(ordering: .sequentiallyConsistent) > 0 && .now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        aggregates.withLock { Array($0.values) }.forEach(aggregateEnded)
        await endStatelessSessions(idleFor: nil)
        let open = sessions.withLock { Array($0.values) }
        open.forEach { sessionEnded($0) }
        sharedServers.values.forEach { $0.stop() }
        // Servers get a few seconds to exit (stdin closed, then SIGTERM); those still running
        // then are killed, so that none outlives Warden and their calls are audited (as
        // answered by no one) before the audit log's last flush.
        let finished = { open.allSatisfy(\.isFinished) && self.sharedServers.values.allSatisfy(\.hasExited) }
        let exitDeadline = min(ContinuousClock.now + .seconds(5), bound - .milliseconds(1500))
        while !finished() && .now < exitDeadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !finished() {
            let killed = ServerProcess.killAll()
            logger.warning("killed server processes that did not exit in time", metadata: ["count": "\(killed)"])
            let killDeadline = min(ContinuousClock.now + .seconds(1), bound - .milliseconds(750))
            while !finished() && .now < killDeadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// The port the gateway listens on (known once it does: the configuration may say 0).
final class BoundPort: Sendable {
    private let port = Atomic<Int>(0)

    var value: Int {
        get { port.load(ordering: .relaxed) }
        set { port.store(newValue, ordering: .relaxed) }
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

/// Waits for shutdown to begin, then drains the gateway's sessions before the HTTP server stops.
struct SessionDrain: Service {
    let gateway: HTTPGateway

    func run() async throws {
        try? await gracefulShutdown()
        // A gateway that could not listen (its port in use) has nothing to drain: it just stops.
        guard gateway.isListening.load(ordering: .sequentiallyConsistent) else { return }
        await gateway.drain()
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
