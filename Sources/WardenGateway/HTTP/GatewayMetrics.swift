import Prometheus
import WardenStore

/// The gateway's Prometheus metrics, served at `/metrics`.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let sessions: Gauge
    private let storeErrors: Counter
    private let added: DurationHistogram
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

    init() {
        sessions = registry.makeGauge(descriptor: .init(
            namespace: "warden", metricName: "active", unitName: "sessions", helpText: "MCP sessions open now."))
        storeErrors = registry.makeCounter(descriptor: .init(
            namespace: "warden", metricName: "store_errors", unitName: "total", helpText: "Requests refused because the state store failed."))
        added = registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "warden", metricName: "decision_duration", unitName: "seconds",
                helpText: "Latency Warden adds to a tools/call: from receiving it to forwarding or answering it."),
            buckets: Self.buckets)
    }

    /// Counts a decision, and the upstream's latency when the call was forwarded and answered.
    func observe(_ record: AuditRecord) {
        let server = record.server ?? ""
        registry.makeCounter(descriptor: Self.decisions, labels: [("server", server), ("tool", record.tool ?? ""), ("decision", record.decision)])
            .increment()
        if let milliseconds = record.latencyMilliseconds {
            registry.makeDurationHistogram(descriptor: Self.upstream, labels: [("server", server)], buckets: Self.buckets)
                .record(.nanoseconds(Int64(milliseconds * 1_000_000)))
        }
    }

    func decided(after duration: Duration) { added.record(duration) }

    func storeFailed() { storeErrors.increment() }

    func sessionOpened() { sessions.increment() }

    func sessionClosed() { sessions.decrement() }

    /// The metrics in the Prometheus text format.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
