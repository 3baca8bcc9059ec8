import Foundation
import HTTPTypes
import Hummingbird
import Logging
import WardenCatalogue
import WardenJSON
import WardenStore

/// Pinned tool definitions in the admin API and the dashboard: the drift sessions have seen,
/// each with its hashes and diff (`GET /admin/api/pins`, `/admin/pins`), and the re-pin of a
/// drifted tool by an approver (`POST /admin/api/pins/<server>/<tool>`, or the dashboard's
/// button), which rewrites the lock file, is audited, and serves the tool again at once.
extension AdminRoutes {
    func addPins(to router: Router<GatewayRequestContext>) {
        router.get("/admin/api/pins") { request, _ in
            _ = try await self.admin(request, needs: .viewer)
            return Self.json(try self.pinSummary())
        }
        router.post("/admin/api/pins/:server/:tool") { request, context in
            let token = try await self.admin(request, needs: .approver)
            var request = request
            let body = try await Self.jsonBody(&request)
            let drift = try self.repin(
                server: context.parameters.get("server") ?? "", tool: context.parameters.get("tool") ?? "",
                expectedHash: body["sha256"]?.stringValue, by: token)
            return Self.json(Self.json(drift))
        }
        router.get("/admin/pins") { request, _ in
            guard let viewer = try? await self.admin(request, needs: .viewer) else { return Self.redirect("/admin/login") }
            return Self.html(self.pinsPage(viewer, notice: request.uri.queryParameters.get("notice")))
        }
        router.post("/admin/pins/:server/:tool") { request, context in
            guard let viewer = try? await self.admin(request, needs: .approver) else {
                return Self.html(DashboardHTML.page(title: "Not allowed", active: "pins", viewer: nil, body: "<p>Re-pinning needs an approver's token.</p>"), status: .forbidden)
            }
            var request = request
            let form = try await Self.form(&request)
            let tool = context.parameters.get("tool") ?? ""
            let notice: String
            do {
                let drift = try self.repin(server: context.parameters.get("server") ?? "", tool: tool, expectedHash: form["sha256"], by: viewer)
                notice = "re-pinned \(drift.tool): \(drift.listedHash ?? "removed")"
            } catch let refusal as AdminAPIError {
                notice = refusal.message
            }
            return Self.redirect("/admin/pins?notice=\(notice.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
        }
    }

    /// The lock file's path, its pins by server, and the drift seen.
    func pinSummary() throws -> JSONValue {
        guard let pins else { throw AdminAPIError.noPins }
        var servers = JSONObject()
        for (name, server) in pins.lock.servers.sorted(by: { $0.key < $1.key }) {
            let tools = server.tools.values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            servers.set(name, to: .array(tools.map { ["name": .string($0.name), "sha256": .string($0.sha256)] }))
        }
        return ["lock": .string(pins.path), "drift": .array(pins.drifts.map { Self.json($0.drift, server: $0.server) }), "servers": .object(servers)]
    }

    /// Re-pins `tool` of `server` and audits it.
    func repin(server: String, tool: String, expectedHash: String?, by token: AdminToken) throws -> ToolDrift {
        guard let pins else { throw AdminAPIError.noPins }
        let drift: ToolDrift
        do {
            drift = try pins.repin(server: server, tool: tool, expectedHash: expectedHash)
        } catch {
            switch error.kind {
            case .noDrift: throw AdminAPIError(.notFound, "Not Found: \(error.description)")
            case .stale: throw AdminAPIError(.conflict, "Conflict: \(error.description)")
            case .unwritable: throw AdminAPIError(.internalServerError, error.description)
            }
        }
        let what = drift.kind == .removed ? "dropped the pin of the removed tool" : "pinned sha256 \(drift.listedHash ?? "-")"
        audit?.record(AuditRecord(
            time: Date(), identity: token.name, server: server, method: "admin/repin", tool: tool, decision: "repinned", rule: "/pin",
            message: "\(what) (was \(drift.pinnedHash ?? "not pinned")) in \(pins.path), by \(token.name)"))
        logger.notice("tool re-pinned", metadata: ["server": "\(server)", "tool": "\(tool)", "by": "\(token.name)"])
        return drift
    }

    static func json(_ drift: ToolDrift, server: String? = nil) -> JSONValue {
        var object = JSONObject()
        if let server { object.set("server", to: .string(server)) }
        object.set("tool", to: .string(drift.tool))
        object.set("kind", to: .string(drift.kind.rawValue))
        object.set("pinned_sha256", to: drift.pinnedHash.map(JSONValue.string) ?? .null)
        object.set("listed_sha256", to: drift.listedHash.map(JSONValue.string) ?? .null)
        object.set("diff", to: .string(drift.diff))
        return .object(object)
    }

    private func pinsPage(_ viewer: AdminToken, notice: String?) -> String {
        guard let pins else {
            return DashboardHTML.page(title: "Pins", active: "pins", viewer: viewer, notice: notice, body: #"<p class="empty">This gateway pins nothing (no pin: in its configuration).</p>"#)
        }
        let canRepin = viewer.role >= .approver
        let rows = pins.drifts.map { entry in
            let drift = entry.drift
            let path = "/admin/pins/\(DashboardHTML.escape(entry.server))/\(DashboardHTML.escape(drift.tool.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? drift.tool))"
            let form = canRepin
                ? #"<form method="post" action="\#(path)"><input type="hidden" name="sha256" value="\#(DashboardHTML.escape(drift.listedHash ?? "removed"))"><button>Re-pin</button></form>"#
                : #"<span class="empty">approvers re-pin</span>"#
            return DashboardHTML.cells(
                [
                    DashboardHTML.escape(entry.server) + " / <strong>" + DashboardHTML.escape(drift.tool) + "</strong>",
                    DashboardHTML.badge(drift.kind.rawValue),
                    "<code>\(DashboardHTML.escape(String((drift.pinnedHash ?? "-").prefix(12))))</code> → <code>\(DashboardHTML.escape(String((drift.listedHash ?? "-").prefix(12))))</code>",
                    "<pre>\(DashboardHTML.escape(drift.diff))</pre>",
                    form,
                ], attributes: #" data-drift="\#(DashboardHTML.escape(drift.tool))""#)
        }
        let body =
            "<p>Lock file: <code>\(DashboardHTML.escape(pins.path))</code></p>"
            + DashboardHTML.table(["Tool", "Drift", "sha256", "Diff (pinned → listed)", ""], rows, empty: "No drift seen: every tool listed is as pinned.")
        return DashboardHTML.page(title: "Pins", active: "pins", viewer: viewer, notice: notice, body: body)
    }
}

extension AdminAPIError {
    /// 404 for the pin routes of a gateway configured without `pin:`.
    static let noPins = AdminAPIError(.notFound, "Not Found: this gateway pins nothing (no pin: in its configuration)")
}
