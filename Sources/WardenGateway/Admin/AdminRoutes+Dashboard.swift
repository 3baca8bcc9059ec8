import Foundation
import HTTPTypes
import Hummingbird
import Logging
import WardenJSON
import WardenStore

/// The web dashboard under `/admin`: pending approvals with approve / deny, the audit log
/// with filters, grants, and servers with their tools' rules. Signing in stores the admin
/// token in an HttpOnly, SameSite=Strict cookie; forms post to the same origin only.
extension AdminRoutes {
    func addDashboard(to router: Router<GatewayRequestContext>) {
        router.get("/admin") { _, _ in Self.redirect("/admin/approvals") }
        router.get("/admin/login") { _, _ in Self.html(Self.loginPage(error: nil)) }
        router.post("/admin/login") { request, _ in
            var request = request
            let form = try await Self.form(&request)
            let secret = form["token"]?.trimmingCharacters(in: .whitespaces) ?? ""
            guard (try? await self.admin(secret: secret, needs: .viewer)) != nil else {
                return Self.html(Self.loginPage(error: "That is not a valid admin token."), status: .unauthorized)
            }
            var response = Self.redirect("/admin/approvals")
            response.headers[.setCookie] = "\(Self.adminCookie)=\(secret); Path=/admin; HttpOnly; SameSite=Strict"
            return response
        }
        router.post("/admin/logout") { _, _ in
            var response = Self.redirect("/admin/login")
            response.headers[.setCookie] = "\(Self.adminCookie)=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        router.get("/admin/approvals") { request, _ in
            try await self.dashboardPage(request) { viewer in try await self.approvalsPage(viewer, notice: request.uri.queryParameters.get("notice")) }
        }
        router.get("/admin/approvals/:id") { request, context in
            try await self.dashboardPage(request) { viewer in
                let approval = try await self.approval(context.parameters.get("id") ?? "")
                return Self.html(self.approvalPage(approval, viewer: viewer))
            }
        }
        for (verb, approve) in [("approve", true), ("deny", false)] {
            router.post("/admin/approvals/:id/\(verb)") { request, context in
                try await self.dashboardPage(request, needs: .approver) { viewer in
                    var request = request
                    let reason = try await Self.form(&request)["reason"].flatMap { $0.isEmpty ? nil : $0 }
                    let id = context.parameters.get("id") ?? ""
                    let decided = try await self.decide(id, approve: approve, by: viewer, reason: reason)
                    let notice = "\(decided.id) \(decided.status.rawValue): \(decided.tool) on \(decided.server)"
                    return Self.redirect("/admin/approvals?notice=\(notice.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
                }
            }
        }
        router.get("/admin/audit") { request, _ in
            try await self.dashboardPage(request) { viewer in try await self.auditPage(request, viewer: viewer) }
        }
        router.get("/admin/grants") { request, _ in
            try await self.dashboardPage(request) { viewer in try await self.grantsPage(viewer) }
        }
        router.get("/admin/servers") { request, _ in
            try await self.dashboardPage(request) { viewer in Self.html(await self.serversPage(viewer)) }
        }
    }

    /// Runs `render` for a signed-in admin with `role`; sends others to the sign-in page, and
    /// shows refusals (a weaker role, an approval decided already) as a page.
    private func dashboardPage(
        _ request: Request, needs role: AdminToken.Role = .viewer, render: (AdminToken) async throws -> Response
    ) async throws -> Response {
        let viewer: AdminToken
        do {
            viewer = try await admin(request, needs: role)
        } catch let refusal as AdminAPIError where refusal.status == .unauthorized {
            return Self.redirect("/admin/login")
        } catch let refusal as AdminAPIError {
            return Self.html(Self.errorPage(refusal, viewer: try? await admin(request, needs: .viewer)), status: refusal.status)
        }
        do {
            return try await render(viewer)
        } catch let refusal as AdminAPIError {
            return Self.html(Self.errorPage(refusal, viewer: viewer), status: refusal.status)
        }
    }

    // MARK: - Pages

    private func approvalsPage(_ viewer: AdminToken, notice: String?) async throws -> Response {
        let pending = try await approvalList(status: .pending)
        let recent = try await approvalList(status: nil, limit: 30).filter { $0.status != .pending }
        let canDecide = viewer.role >= .approver
        let pendingRows = pending.map { approval in
            DashboardHTML.cells(
                [
                    #"<a href="/admin/approvals/\#(DashboardHTML.escape(approval.id))"><code>\#(DashboardHTML.escape(approval.id))</code></a>"#,
                    DashboardHTML.escape(approval.server) + " / <strong>" + DashboardHTML.escape(approval.tool) + "</strong>",
                    DashboardHTML.escape(approval.identity),
                    "<pre>\(DashboardHTML.escape(approval.arguments))</pre>",
                    DashboardHTML.escape(approval.message) + "<br><code>\(DashboardHTML.escape(approval.rule))</code>",
                    DashboardHTML.time(approval.expiresAt),
                    canDecide ? DashboardHTML.decisionForms(approval) : #"<span class="empty">approvers decide</span>"#,
                ], attributes: #" data-approval="\#(DashboardHTML.escape(approval.id))""#)
        }
        let recentRows = recent.map { approval in
            DashboardHTML.cells([
                #"<a href="/admin/approvals/\#(DashboardHTML.escape(approval.id))"><code>\#(DashboardHTML.escape(approval.id))</code></a>"#,
                DashboardHTML.escape(approval.server) + " / " + DashboardHTML.escape(approval.tool),
                DashboardHTML.escape(approval.identity),
                DashboardHTML.badge(approval.status.rawValue),
                DashboardHTML.escape(approval.decidedBy ?? "—") + (approval.reason.map { ": " + DashboardHTML.escape($0) } ?? ""),
                approval.decidedAt.map(DashboardHTML.time) ?? "",
            ])
        }
        let body =
            DashboardHTML.table(
                ["Approval", "Call", "Identity", "Arguments", "Why held", "Expires", ""], pendingRows, empty: "No calls are waiting for approval.")
            + "<h2>Recently closed</h2>"
            + DashboardHTML.table(["Approval", "Call", "Identity", "Status", "Decided by", "When"], recentRows, empty: "None yet.")
        let ids = pending.map(\.id).sorted().joined(separator: ",")
        return Self.html(DashboardHTML.page(
            title: "Approvals", active: "approvals", viewer: viewer, notice: notice, body: body, script: DashboardHTML.liveApprovals,
            bodyAttributes: #" data-pending="\#(DashboardHTML.escape(ids))""#))
    }

    private func approvalPage(_ approval: Approval, viewer: AdminToken) -> String {
        var rows: [(String, String)] = [
            ("Status", DashboardHTML.badge(approval.status.rawValue)),
            ("Server / tool", DashboardHTML.escape("\(approval.server) / \(approval.tool)")),
            ("Identity", DashboardHTML.escape(approval.identity) + (approval.grant.map { " (grant <code>\(DashboardHTML.escape($0))</code>)" } ?? "")),
            ("Arguments", "<pre>\(DashboardHTML.escape(approval.arguments))</pre>"),
            ("Why held", DashboardHTML.escape(approval.message) + " <code>\(DashboardHTML.escape(approval.rule))</code>"),
            ("Approvers", DashboardHTML.escape(approval.approvers.isEmpty ? "any approver" : approval.approvers.joined(separator: ", "))),
            ("Created", DashboardHTML.time(approval.createdAt)), ("Expires", DashboardHTML.time(approval.expiresAt)),
        ]
        if let by = approval.decidedBy { rows.append(("Decided by", DashboardHTML.escape(by))) }
        if let reason = approval.reason { rows.append(("Reason", DashboardHTML.escape(reason))) }
        let table = "<table><tbody>" + rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</tbody></table>"
        let forms = approval.status == .pending && viewer.role >= .approver ? "<h2>Decide</h2>" + DashboardHTML.decisionForms(approval) : ""
        return DashboardHTML.page(title: "Approval \(approval.id)", active: "approvals", viewer: viewer, body: table + forms)
    }

    private func auditPage(_ request: Request, viewer: AdminToken) async throws -> Response {
        let query = request.uri.queryParameters
        let entries = try await auditEntries(try Self.auditFilter(query))
        func field(_ name: String, _ placeholder: String) -> String {
            let value = query.get(name).map { DashboardHTML.escape(String($0)) } ?? ""
            return #"<input name="\#(name)" placeholder="\#(placeholder)" value="\#(value)">"#
        }
        let filters = #"<form class="filters" method="get">\#(field("tool", "tool"))\#(field("decision", "decision"))\#(field("identity", "identity"))\#(field("since", "since (1h, 2d)"))<button>Filter</button></form>"#
        let rows = entries.map { entry in
            let record = entry.record
            return DashboardHTML.cells([
                String(entry.sequence), DashboardHTML.time(record.time), DashboardHTML.escape(record.identity),
                DashboardHTML.escape([record.server, record.tool].compactMap { $0 }.joined(separator: " / ")),
                DashboardHTML.badge(record.decision),
                "<code>\(DashboardHTML.escape(record.rule ?? ""))</code>",
                DashboardHTML.escape(record.message ?? ""),
                DashboardHTML.escape(record.upstreamStatus ?? ""),
            ])
        }
        let body = filters + DashboardHTML.table(
            ["#", "Time", "Identity", "Call", "Decision", "Rule", "Message", "Upstream"], rows, empty: "No audit records match.")
        return Self.html(DashboardHTML.page(title: "Audit log", active: "audit", viewer: viewer, body: body))
    }

    private func grantsPage(_ viewer: AdminToken) async throws -> Response {
        let grants = try await store.grants.list(includingRevoked: true)
        let rows = grants.map { grant in
            DashboardHTML.cells([
                "<code>\(DashboardHTML.escape(grant.id))</code>", DashboardHTML.escape(grant.label), DashboardHTML.escape(grant.identity),
                DashboardHTML.escape(grant.servers.joined(separator: ", ")), "<code>\(DashboardHTML.escape(grant.policy))</code>",
                DashboardHTML.time(grant.createdAt), DashboardHTML.badge(grant.isActive ? "active" : "revoked"),
            ])
        }
        let body = DashboardHTML.table(
            ["Grant", "Label", "Identity", "Servers", "Policy", "Created", "Status"], rows,
            empty: "No grants yet: `warden grants create` makes one.")
        return Self.html(DashboardHTML.page(title: "Grants", active: "grants", viewer: viewer, body: body))
    }

    private func serversPage(_ viewer: AdminToken) async -> String {
        let sections = await serverSummaries().map { server in
            let policies = server.policies.map { policy in
                let rows = policy.tools.map { tool in
                    DashboardHTML.cells([
                        "<strong>\(DashboardHTML.escape(tool.name))</strong>", DashboardHTML.badge(tool.effect),
                        "<code>\(DashboardHTML.escape(tool.rule))</code>",
                    ])
                }
                return "<p>Policy <code>\(DashboardHTML.escape(policy.path))</code> — \(DashboardHTML.escape(policy.usedBy.joined(separator: ", ")))</p>"
                    + DashboardHTML.table(["Tool", "Effect", "Rule"], rows, empty: "No tools known yet: the policy names none and no session has listed them.")
            }
            return "<h2>\(DashboardHTML.escape(server.name)) <span class=\"badge plain\">\(server.transport)</span></h2>" + policies.joined()
        }
        return DashboardHTML.page(title: "Servers", active: "servers", viewer: viewer, body: sections.joined())
    }

    private static func loginPage(error: String?) -> String {
        let problem = error.map { #"<p class="error">\#(DashboardHTML.escape($0))</p>"# } ?? ""
        let body = #"""
            \#(problem)<form class="login" method="post" action="/admin/login"><label for="token">Admin token</label>\#
            <input id="token" name="token" type="password" autocomplete="off" placeholder="wda_…" autofocus>\#
            <button>Sign in</button><p class="empty">Make one with <code>warden admins create --name NAME --role approver</code>.</p></form>
            """#
        return DashboardHTML.page(title: "Sign in", active: nil, viewer: nil, body: body)
    }

    private static func errorPage(_ refusal: AdminAPIError, viewer: AdminToken?) -> String {
        DashboardHTML.page(
            title: "Not done", active: nil, viewer: viewer,
            body: #"<p class="error">\#(DashboardHTML.escape(refusal.message))</p><p><a href="/admin/approvals">Back to approvals</a></p>"#)
    }

    // MARK: - HTTP

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .contentSecurityPolicy: Self.dashboardPolicy],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// Only the page's own inline style and script, and requests to its own origin.
    static let dashboardPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// The fields of a form post (`application/x-www-form-urlencoded`).
    static func form(_ request: inout Request) async throws -> [String: String] {
        let body = String(buffer: try await request.collectBody(upTo: 64 * 1024))
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
