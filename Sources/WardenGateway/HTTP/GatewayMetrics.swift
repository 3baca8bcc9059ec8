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

    init() {
        sessions = registry.makeGauge(name: "warden_active_sessions", help: "MCP sessions open now.")
        storeErrors = registry.makeCounter(name: "warden_store_errors_total", help: "Calls refused because the state store failed.")
        added = registry.makeDurationHistogram(
            name: "warden_decision_duration_seconds", buckets: Self.buckets,
            help: "Latency Warden adds to a tools/call: from receiving it to forwarding or answering it.")
    }

    /// Counts a decision, and the upstream's latency when the call was forwarded and answered.
    func observe(_ record: AuditRecord) {
        let labels = [("server", record.server ?? ""), ("tool", record.tool ?? ""), ("decision", record.decision)]
        registry.makeCounter(name: "warden_decisions_total", labels: labels, help: "tools/call decisions.").increment()
        if let milliseconds = record.latencyMilliseconds {
            registry.makeDurationHistogram(
                name: "warden_upstream_duration_seconds", labels: [("server", record.server ?? "")], buckets: Self.buckets,
                help: "How long servers took to answer forwarded calls."
            ).record(.nanoseconds(Int64(milliseconds * 1_000_000)))
        }
    }

    func decided(after duration: Duration) { added.record(duration) }

    func storeFailed() { storeErrors.increment() }

    func sessionOpened() { sessions.increment() }

    func sessionClosed() { sessions.decrement() }

    /// The metrics in the Prometheus text format.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
