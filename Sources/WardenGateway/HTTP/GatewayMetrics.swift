import Prometheus
import Synchronization
import WardenStore

/// The gateway's Prometheus metrics, served at `/metrics`.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let sessions: Gauge
    private let storeErrors: Counter
    private let connections: Gauge
    private let refusedConnections: Counter
    private let foreignSessions: Counter
    private let added: DurationHistogram
    /// The series `observe` counts into, found once each: the registry's own lookup builds and
    /// checks the labels every time.
    private let series = Mutex(Series())

    private struct Series {
        var decisions: [DecisionLabels: Counter] = [:]
        var upstream: [String: DurationHistogram] = [:]
    }

    private struct DecisionLabels: Hashable {
        var server: String
        var tool: String
        var decision: String
    }
    private static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
        .milliseconds(250), .seconds(1), .seconds(2.5), .seconds(10), .seconds(30),
    ]
    // Not Sendable, so made where needed (from literals: no work to speak of).
    private static var decisions: MetricNameDescriptor {
        .init(namespace: "warden", metricName: "decisions", unitName: "total", helpText: "tools/call decisions.")
    }
    private static var upstream: MetricNameDescriptor {
        .init(namespace: "warden", metricName: "upstream_duration", unitName: "seconds", helpText: "How long servers took to answer forwarded calls.")
    }
    private static var grantSessions: MetricNameDescriptor {
        .init(namespace: "warden", metricName: "grant", unitName: "sessions", helpText: "Sessions open now, per grant (or JWT identity, or anonymous).")
    }
    private static var refusedSessions: MetricNameDescriptor {
        .init(
            namespace: "warden", metricName: "sessions_refused", unitName: "total",
            helpText: "Sessions refused because their grant had limits.max_sessions_per_grant open.")
    }
    private static var timedOutConnections: MetricNameDescriptor {
        .init(
            namespace: "warden", metricName: "connections_timed_out", unitName: "total",
            helpText: "Connections closed for taking too long: to send a request head (header), its body (body), or a next request (idle).")
    }
    /// The `tool` label of calls to tools their server never advertised: the name the client
    /// sent is not used, so made-up names cannot create series without end.
    static let unknownTool = "(unknown)"

    init() {
        sessions = registry.makeGauge(descriptor: .init(
            namespace: "warden", metricName: "active", unitName: "sessions", helpText: "MCP sessions open now."))
        storeErrors = registry.makeCounter(descriptor: .init(
            namespace: "warden", metricName: "store_errors", unitName: "total", helpText: "Requests refused because the state store failed."))
        connections = registry.makeGauge(descriptor: .init(
            namespace: "warden", metricName: "open", unitName: "connections", helpText: "HTTP connections open now."))
        refusedConnections = registry.makeCounter(descriptor: .init(
            namespace: "warden", metricName: "connections_refused", unitName: "total",
            helpText: "HTTP connections answered 503 and closed because listen.max_connections were open."))
        foreignSessions = registry.makeCounter(descriptor: .init(
            namespace: "warden", metricName: "foreign_session_requests", unitName: "total",
            helpText: "Requests answered 404 because their Mcp-Session-Id belongs to another instance (the load balancer routed them wrongly)."))
        added = registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "warden", metricName: "decision_duration", unitName: "seconds",
                helpText: "Latency Warden adds to a tools/call: from receiving it to forwarding or answering it."),
            buckets: Self.buckets)
    }

    /// Counts a decision, and the upstream's latency when the call was forwarded and answered.
    ///
    /// The `tool` label names only tools their server advertised: a decision by a policy rule
    /// (`record.rule`) is made only for such a tool (hidden ones included: the server listed
    /// them, so they are finitely many). Every other call (an unknown tool, invalid parameters,
    /// a tools list that could not be read) is counted under ``unknownTool``.
    func observe(_ record: AuditRecord) {
        let labels = DecisionLabels(server: record.server ?? "", tool: record.rule != nil ? record.tool ?? "" : Self.unknownTool, decision: record.decision)
        let (decisions, upstream) = series.withLock { series in
            // Each series is looked up once, and made and kept only the first time.
            let decisions: Counter
            if let found = series.decisions[labels] {
                decisions = found
            } else {
                decisions = registry.makeCounter(
                    descriptor: Self.decisions, labels: [("server", labels.server), ("tool", labels.tool), ("decision", labels.decision)])
                series.decisions[labels] = decisions
            }
            guard record.latencyMilliseconds != nil else { return (decisions, nil as DurationHistogram?) }
            if let found = series.upstream[labels.server] { return (decisions, found) }
            let upstream = registry.makeDurationHistogram(descriptor: Self.upstream, labels: [("server", labels.server)], buckets: Self.buckets)
            series.upstream[labels.server] = upstream
            return (decisions, upstream)
        }
        decisions.increment()
        if let milliseconds = record.latencyMilliseconds {
            upstream?.record(.nanoseconds(Int64(milliseconds * 1_000_000)))
        }
    }

    func decided(after duration: Duration) { added.record(duration) }

    func storeFailed() { storeErrors.increment() }

    func sessionOpened() { sessions.increment() }

    func sessionClosed() { sessions.decrement() }

    /// The number of sessions `owner` (a grant id, `jwt:<name>` or `anonymous`) has open now.
    func grantSessions(_ owner: String, open count: Int) {
        registry.makeGauge(descriptor: Self.grantSessions, labels: [("grant", owner)]).set(Int64(count))
    }

    func sessionRefused(_ owner: String) {
        registry.makeCounter(descriptor: Self.refusedSessions, labels: [("grant", owner)]).increment()
    }

    func connectionOpened() { connections.increment() }

    func connectionClosed() { connections.decrement() }

    func connectionRefused() { refusedConnections.increment() }

    /// A request carried the session id of another instance.
    func foreignSession() { foreignSessions.increment() }

    /// A connection closed for taking too long: `phase` is `header`, `body` or `idle`.
    func connectionTimedOut(_ phase: String) {
        registry.makeCounter(descriptor: Self.timedOutConnections, labels: [("phase", phase)]).increment()
    }

    /// The metrics in the Prometheus text format.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
