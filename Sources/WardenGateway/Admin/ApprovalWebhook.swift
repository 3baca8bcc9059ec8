import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import WardenJSON
import WardenStore

/// Announces each new approval with a JSON POST to `approvals.webhook`: the approval as the
/// admin API shows it, and a link to it in the dashboard. A failed delivery is retried with
/// backoff (1, 2, 4, 8 s) and logged; it never delays the held call.
struct ApprovalWebhook: Sendable {
    let url: String
    let headers: [String: String]
    /// The dashboard's base URL, e.g. `http://127.0.0.1:8940`.
    let dashboard: @Sendable () -> String
    let logger: Logger

    /// The delays between attempts.
    static let backoff: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8)]

    /// The `announce` of an ``ApprovalDesk``: posts to the configured webhook, or does nothing.
    static func announcer(
        _ configuration: GatewayConfiguration.Approvals, dashboard: @escaping @Sendable () -> String, logger: Logger
    ) -> @Sendable (Approval) -> Void {
        guard let url = configuration.webhookURL else { return { _ in } }
        let base = configuration.dashboardURL
        let webhook = ApprovalWebhook(
            url: url, headers: configuration.webhookHeaders, dashboard: { base ?? dashboard() }, logger: logger)
        return { approval in Task { await webhook.deliver(approval) } }
    }

    /// The body posted for `approval`.
    func payload(_ approval: Approval) -> [UInt8] {
        let link = "\(dashboard())/admin/approvals/\(approval.id)"
        let body: JSONValue = ["event": "approval.created", "approval": approval.json, "url": .string(link)]
        return Array(JSONWriter.write(body).utf8)
    }

    func deliver(_ approval: Approval) async {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: payload(approval)))
        for attempt in 0...Self.backoff.count {
            let problem: String
            do {
                let response = try await HTTPClient.failingFast.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(response.status.code) { return }
                problem = "HTTP \(response.status.code)"
            } catch {
                problem = "\(error)"
            }
            guard attempt < Self.backoff.count else {
                logger.error("the approval webhook failed; giving up", metadata: ["approval": "\(approval.id)", "error": "\(problem)"])
                return
            }
            logger.warning(
                "the approval webhook failed; retrying",
                metadata: ["approval": "\(approval.id)", "error": "\(problem)", "attempt": "\(attempt + 1)"])
            try? await Task.sleep(for: Self.backoff[attempt])
        }
    }
}
