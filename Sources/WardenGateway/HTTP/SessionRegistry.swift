import HTTPTypes
import Logging
import ServiceLifecycle
import Synchronization

/// The gateway's open sessions, found by id and bound to their callers: per-server sessions
/// (Streamable HTTP and legacy SSE), aggregated ones, and those Warden opened itself for
/// stateless requests.
///
/// It counts each caller's sessions against `limits.max_sessions_per_grant`, ends sessions
/// nobody uses, and at shutdown drains them all: new work is refused, calls in flight finish,
/// then every session and server process ends. It runs as a `Service`, after the HTTP server
/// in the service group, so that it drains before the server stops.
final class SessionRegistry: Service, Sendable {
    let limits: GatewayConfiguration.Limits
    let metrics: GatewayMetrics
    let logger: Logger
    /// The processes of the stdio servers configured `shared: true`, stopped at shutdown.
    let sharedServers: [SharedServer]
    /// Told once, when shutdown begins, of its bound (the instant by which Warden exits).
    let shutdownBegan = AsyncStream<ContinuousClock.Instant>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// Whether the gateway has listened: one that never could has nothing to drain.
    private let hasListened: @Sendable () -> Bool
    private let sessions = Mutex<[String: HTTPSession]>([:])
    private let aggregates = Mutex<[String: AggregateSession]>([:])
    /// Sessions serving stateless (2026-07-28) requests, one per caller and server (or
    /// `/mcp`), while they are being set up or in use.
    private let statelessSessions = Mutex<[String: Task<StatelessSession, any Error>]>([:])
    /// The sessions each caller (by owner: a grant id, `jwt:<name>`, `anonymous`) has open.
    private let sessionCounts = Mutex<[String: Int]>([:])
    /// Set once shutdown begins: new requests are refused while calls in flight finish.
    private let draining = Atomic<Bool>(false)
    private let inFlight = Atomic<Int>(0)

    init(
        limits: GatewayConfiguration.Limits, sharedServers: [SharedServer], metrics: GatewayMetrics, logger: Logger,
        hasListened: @escaping @Sendable () -> Bool
    ) {
        self.limits = limits
        self.sharedServers = sharedServers
        self.metrics = metrics
        self.logger = logger
        self.hasListened = hasListened
    }

    /// Ends idle sessions until shutdown begins, then drains.
    func run() async throws {
        await cancelWhenGracefulShutdown { await self.endIdleSessions() }
        guard hasListened() else { return }
        await drain()
    }

    // MARK: - Admission

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// 503 once shutdown has begun.
    func refuseWhenDraining() throws(MCPHTTPError) {
        if isDraining { throw MCPHTTPError(.serviceUnavailable, "The gateway is shutting down") }
    }

    /// Runs `call` counted as a call in flight, which shutdown waits for.
    func inFlight<Result>(_ call: () async throws -> Result) async rethrows -> Result {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        return try await call()
    }

    /// Counts a session of `owner` in, or refuses it (429) when they have
    /// `limits.max_sessions_per_grant` open: each session of a stdio server is a process.
    func admit(_ owner: String) throws(MCPHTTPError) {
        let limit = limits.maxSessionsPerGrant
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
    func release(_ owner: String) {
        sessionCounts.withLock { counts in
            let open = max(0, counts[owner, default: 0] - 1)
            counts[owner] = open == 0 ? nil : open
            metrics.grantSessions(owner, open: open)
        }
    }

    // MARK: - Sessions

    /// Counts `session` in for its owner and makes it findable by its id; 429 when its owner
    /// has too many open.
    func add(_ session: HTTPSession) throws(MCPHTTPError) {
        try admit(session.owner)
        sessions.withLock { $0[session.id] = session }
        metrics.sessionOpened()
    }

    /// Makes `session`, counted in already (``admit(_:)``), findable by its id.
    func add(_ session: AggregateSession) {
        aggregates.withLock { $0[session.id] = session }
        metrics.sessionOpened()
    }

    /// The open session `id`, if `caller` opened it with `server`; anyone else is told it does not exist.
    func session(_ id: String, of caller: Caller, server: String) -> HTTPSession? {
        guard let session = sessions.withLock({ $0[id] }), !session.isClosed,
            session.owner == caller.owner, session.serverName == server
        else { return nil }
        return session
    }

    /// The open aggregated session `id`, if `caller` opened it.
    func aggregate(_ id: String, of caller: Caller) -> AggregateSession? {
        guard let session = aggregates.withLock({ $0[id] }), !session.isClosed, session.owner == caller.owner else { return nil }
        return session
    }

    /// Ends a session (its client left or ended it, or its server exited with `status`).
    func end(_ session: HTTPSession, status: Int32? = nil) {
        session.close()
        if let status { logger.info("server exited", metadata: ["server": "\(session.serverName)", "status": "\(status)"]) }
        guard sessions.withLock({ $0.removeValue(forKey: session.id) }) != nil else { return }
        release(session.owner)
        metrics.sessionClosed()
        logger.info("session ended", metadata: ["server": "\(session.serverName)"])
    }

    /// Ends an aggregated session and its members.
    func end(_ session: AggregateSession) {
        session.close()
        guard aggregates.withLock({ $0.removeValue(forKey: session.id) }) != nil else { return }
        release(session.owner)
        metrics.sessionClosed()
    }

    /// The names of the tools each server's open sessions have seen.
    func toolsSeen() -> [String: Set<String>] {
        sessions.withLock { Array($0.values) }.reduce(into: [:]) { seen, session in
            seen[session.serverName, default: []].formUnion(session.knownToolNames)
        }
    }

    /// The caller's session for stateless requests under `key`, opened by `open` on first use;
    /// concurrent first requests share one, and one whose server went away is opened again.
    func statelessSession(_ key: String, open: @escaping @Sendable () async throws -> StatelessSession) async throws -> StatelessSession {
        let task = statelessSessions.withLock { sessions in
            if let existing = sessions[key] { return existing }
            let task = Task { try await open() }
            sessions[key] = task
            return task
        }
        do {
            let session = try await task.value
            if !session.isClosed { return session }
        } catch {
            statelessSessions.withLock { _ = $0.removeValue(forKey: key) }
            throw error
        }
        // The server went away (or the session idled out): start again.
        statelessSessions.withLock { sessions in if sessions[key] == task { sessions.removeValue(forKey: key) } }
        return try await statelessSession(key, open: open)
    }

    // MARK: - Idle sessions and shutdown

    /// Ends sessions nobody uses (clients that vanished without DELETE), with their server
    /// processes, checking a few times per `limits.session_idle_timeout`, until cancelled.
    func endIdleSessions() async {
        let timeout = Duration.seconds(limits.sessionIdleTimeoutSeconds)
        let interval = min(.seconds(30), timeout / 4)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await endSessions(idleFor: timeout)
        }
    }

    /// Ends every session nobody used for `timeout`.
    func endSessions(idleFor timeout: Duration) async {
        let idle = sessions.withLock { $0.values.filter { $0.isIdle(for: timeout) } }
        let idleAggregates = aggregates.withLock { $0.values.filter { $0.isIdle(for: timeout) } }
        for session in idle {
            logger.info("ending an idle session", metadata: ["server": "\(session.serverName)"])
            end(session)
        }
        idleAggregates.forEach { end($0) }
        await endStatelessSessions(idleFor: timeout)
    }

    /// Ends the stateless sessions nobody used for `timeout` (or all, with `nil`).
    private func endStatelessSessions(idleFor timeout: Duration?) async {
        let all = statelessSessions.withLock { $0 }
        for (key, task) in all {
            guard let stateless = try? await task.value else { continue }
            if let timeout, !stateless.isIdle(for: timeout) { continue }
            statelessSessions.withLock { sessions in if sessions[key] == task { sessions.removeValue(forKey: key) } }
            stateless.close()
        }
    }

    /// Shutdown: refuse new work, give calls in flight up to the upstream timeout (within half
    /// the shutdown bound), then end every session and wait (a little) for their servers to
    /// exit. Starts the shutdown bound's clock.
    func drain() async {
        let started = ContinuousClock.now
        let bound = started + .seconds(limits.shutdownTimeoutSeconds)
        shutdownBegan.continuation.yield(bound)
        draining.store(true, ordering: .sequentiallyConsistent)
        logger.notice("shutting down: finishing calls in flight", metadata: ["bound": "\(limits.shutdownTimeoutSeconds)s"])
        // Held calls would wait for a person: they are answered now, their approvals closed.
        var reachable = sessions.withLock { Array($0.values) } + aggregates.withLock { $0.values.flatMap { $0.members.map(\.session) } }
        for opening in statelessSessions.withLock({ Array($0.values) }) {
            if let stateless = try? await opening.value { reachable += stateless.sessions }
        }
        for session in reachable { await session.cancelHeldCalls(because: "the gateway is shutting down") }
        let deadline = min(ContinuousClock.now + .seconds(limits.upstreamTimeoutSeconds), started + (bound - started) / 2)
        while inFlight.load(ordering: .sequentiallyConsistent) > 0 && .now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        aggregates.withLock { Array($0.values) }.forEach { end($0) }
        await endStatelessSessions(idleFor: nil)
        let open = sessions.withLock { Array($0.values) }
        open.forEach { end($0) }
        sharedServers.forEach { $0.stop() }
        // Servers get a few seconds to exit (stdin closed, then SIGTERM); those still running
        // then are killed, so that none outlives Warden and their calls are audited (as
        // answered by no one) before the audit log's last flush.
        let finished = { open.allSatisfy(\.isFinished) && self.sharedServers.allSatisfy(\.hasExited) }
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
