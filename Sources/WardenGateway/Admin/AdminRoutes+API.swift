import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import WardenJSON
import WardenPolicy
import WardenStore

/// The admin API under `/admin/api`: approvals, the audit log, grants, servers and their
/// tools, policy reload. Every request needs an admin token; the role bounds what it may do
/// (viewer reads, approver also decides approvals, admin also manages grants and policies).
extension AdminRoutes {
    func addAPI(to router: Router<GatewayRequestContext>) {
        let api = router.group("/admin/api")
        api.get("/approvals") { request, _ in
            _ = try await self.admin(request, needs: .viewer)
            let status = try Self.approvalStatus(request.uri.queryParameters.get("status"))
            return Self.json(["approvals": .array(try await self.approvalList(status: status).map(\.json))])
        }
        api.get("/approvals/:id") { request, context in
            _ = try await self.admin(request, needs: .viewer)
            return Self.json(try await self.approval(context.parameters.get("id") ?? "").json)
        }
        for (verb, approve) in [("approve", true), ("deny", false)] {
            api.post("/approvals/:id/\(verb)") { request, context in
                let token = try await self.admin(request, needs: .approver)
                var request = request
                let body = try await Self.jsonBody(&request)
                let reason = body["reason"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                return Self.json(try await self.decide(context.parameters.get("id") ?? "", approve: approve, by: token, reason: reason).json)
            }
        }
        api.get("/audit") { request, _ in
            _ = try await self.admin(request, needs: .viewer)
            let entries = try await self.auditEntries(Self.auditFilter(request.uri.queryParameters))
            return Self.json(["entries": .array(entries.map(\.json))])
        }
        api.get("/grants") { request, _ in
            _ = try await self.admin(request, needs: .viewer)
            return Self.json(["grants": .array(try await self.store.grants.list(includingRevoked: true).map(\.json))])
        }
        api.post("/grants") { request, _ in
            let token = try await self.admin(request, needs: .admin)
            var request = request
            let issued = try await self.createGrant(try await Self.jsonBody(&request))
            self.logger.notice("grant created through the admin API", metadata: ["grant": "\(issued.grant.id)", "by": "\(token.name)"])
            guard case .object(var object) = issued.grant.json else { return Self.json(issued.grant.json) }
            object.members.insert(.init(key: "token", value: .string(issued.token)), at: 1)
            return Self.json(.object(object), status: .created)
        }
        api.post("/grants/:id/revoke") { request, context in
            let token = try await self.admin(request, needs: .admin)
            let id = context.parameters.get("id") ?? ""
            do {
                try await self.store.grants.revoke(id: id)
            } catch let failure as StoreError where failure.code == .notFound {
                throw AdminAPIError(.notFound, failure.description)
            }
            self.logger.notice("grant revoked through the admin API", metadata: ["grant": "\(id)", "by": "\(token.name)"])
            return Self.json(["revoked": .string(id)])
        }
        api.get("/servers") { request, _ in
            _ = try await self.admin(request, needs: .viewer)
            return Self.json(["servers": .array(await self.serverSummaries().map(\.json))])
        }
        api.post("/policies/reload") { request, _ in
            let token = try await self.admin(request, needs: .admin)
            self.logger.notice("policies reloaded through the admin API", metadata: ["by": "\(token.name)"])
            self.policies.reloadAll()
            return Self.json(["reloaded": true])
        }
    }

    // MARK: - Operations shared with the dashboard

    func approvalList(status: Approval.Status?, limit: Int = 100) async throws -> [Approval] {
        do {
            return try await store.approvals.list(status: status, limit: limit)
        } catch {
            throw AdminAPIError(.serviceUnavailable, "Warden cannot read its approvals right now")
        }
    }

    func approval(_ id: String) async throws -> Approval {
        guard let approval = try? await store.approvals.approval(id: id) else {
            throw AdminAPIError(.notFound, "Not Found: no approval \(id)")
        }
        return approval
    }

    /// Records `token`'s decision; 409 if it was decided already, 403 if the policy names other approvers.
    func decide(_ id: String, approve: Bool, by token: AdminToken, reason: String?) async throws -> Approval {
        do {
            let approval = try await store.approvals.decide(id: id, approve: approve, by: token.name, token: token.id, reason: reason)
            logger.notice(
                approve ? "approval granted" : "approval denied", metadata: ["approval": "\(id)", "by": "\(token.name)"])
            return approval
        } catch let failure as StoreError {
            switch failure.code {
            case .notFound: throw AdminAPIError(.notFound, "Not Found: \(failure.description)")
            case .alreadyClosed: throw AdminAPIError(.conflict, "Conflict: \(failure.description)")
            case .notAnApprover: throw AdminAPIError(.forbidden, "Forbidden: \(failure.description)")
            case .invalidRequest, .unavailable: throw failure
            }
        }
    }

    /// Creates a grant from `{"label", "servers", "policy", "identity"?, "identity_labels"?}`:
    /// the servers must be served here, and the policy a valid policy file.
    func createGrant(_ body: JSONValue) async throws -> IssuedGrant {
        guard let label = body["label"]?.stringValue, !label.isEmpty,
            let servers = body["servers"]?.arrayValue?.compactMap(\.stringValue), !servers.isEmpty,
            let policy = body["policy"]?.stringValue
        else {
            throw AdminAPIError(.badRequest, "Bad Request: a grant needs \"label\", \"servers\" (a list of names) and \"policy\" (a policy file's path)")
        }
        if let unknown = servers.first(where: { name in !self.servers.contains { $0.name == name } }) {
            throw AdminAPIError(.badRequest, "Bad Request: no server named \(unknown) behind this gateway")
        }
        let path = URL(fileURLWithPath: policy).standardizedFileURL.path
        do {
            _ = try policies.file(at: path)
        } catch {
            throw AdminAPIError(.badRequest, "Bad Request: \(path) is not a valid policy file: \(error)")
        }
        let labels = body["identity_labels"]?.objectValue.map { object in
            Dictionary(object.members.compactMap { member in member.value.stringValue.map { (member.key, $0) } }, uniquingKeysWith: { $1 })
        }
        do {
            return try await store.grants.create(
                label: label, servers: servers, policy: path, identity: body["identity"]?.stringValue, identityLabels: labels ?? [:])
        } catch {
            throw AdminAPIError(.serviceUnavailable, "Warden could not store the grant: \(error)")
        }
    }

    func auditEntries(_ filter: AuditLog.Filter) async throws -> [AuditLog.Entry] {
        do {
            return try await store.audit.entries(filter).reversed()
        } catch {
            throw AdminAPIError(.serviceUnavailable, "Warden cannot read its audit log right now")
        }
    }

    /// Each server with the tools its policies name or its live sessions have seen, and what
    /// each policy deciding its calls (its own, and those of the grants reaching it) does with them.
    func serverSummaries() async -> [ServerSummary] {
        let seen = toolsSeen()
        let grants = (try? await store.grants.list()) ?? []
        return servers.map { server in
            var users: [(path: String, users: [String])] = [(server.policyPath, ["server default"])]
            for grant in grants where grant.servers.contains(server.name) {
                if let index = users.firstIndex(where: { $0.path == grant.policy }) {
                    users[index].users.append("grant \(grant.label)")
                } else {
                    users.append((grant.policy, ["grant \(grant.label)"]))
                }
            }
            let loaded = users.compactMap { entry -> (path: String, users: [String], policy: Policy)? in
                guard let policy = try? self.policies.file(at: entry.path).current.policy else { return nil }
                return (entry.path, entry.users, policy)
            }
            let names = loaded.reduce(seen[server.name] ?? []) { $0.union($1.policy.toolNames) }.sorted()
            return ServerSummary(
                name: server.name, transport: server.upstream.transportName,
                policies: loaded.map { entry in
                    PolicySummary(path: entry.path, usedBy: entry.users, tools: names.map { ToolSummary(name: $0, policy: entry.policy) })
                })
        }
    }

    // MARK: - Encoding

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: JSONWriter.write(value))))
    }

    /// A request's JSON object body; an empty body is an empty object.
    static func jsonBody(_ request: inout Request) async throws -> JSONValue {
        let bytes = Array(try await request.collectBody(upTo: 64 * 1024).readableBytesView)
        if bytes.isEmpty { return [:] }
        guard let value = try? JSONReader.parse(bytes), case .object = value else {
            throw AdminAPIError(.badRequest, "Bad Request: the body must be a JSON object")
        }
        return value
    }

    static func approvalStatus(_ text: String?) throws -> Approval.Status? {
        guard let text, text != "all" else { return nil }
        guard let status = Approval.Status(rawValue: text) else {
            throw AdminAPIError(.badRequest, "Bad Request: status must be pending, approved, denied, expired, cancelled or all")
        }
        return status
    }

    static func auditFilter(_ query: Parameters) throws -> AuditLog.Filter {
        func text(_ key: String) -> String? { query.get(key).flatMap { $0.isEmpty ? nil : String($0) } }
        var filter = AuditLog.Filter(tool: text("tool"), decision: text("decision"), identity: text("identity"), limit: 100)
        if let since = text("since") {
            guard let date = AuditLog.Filter.since(since) else {
                throw AdminAPIError(.badRequest, "Bad Request: since takes a duration like 30m, 1h, 2d, or an ISO 8601 time")
            }
            filter.since = date
        }
        if let limit = text("limit") {
            guard let count = Int(limit), (1...10_000).contains(count) else {
                throw AdminAPIError(.badRequest, "Bad Request: limit must be a number from 1 to 10000")
            }
            filter.limit = count
        }
        return filter
    }
}

/// A server as the admin API and dashboard show it.
struct ServerSummary: Sendable {
    var name: String
    var transport: String
    var policies: [PolicySummary]

    var json: JSONValue {
        ["name": .string(name), "transport": .string(transport), "policies": .array(policies.map(\.json))]
    }
}

/// One policy deciding a server's calls: who it applies to, and what it does with each tool.
struct PolicySummary: Sendable {
    var path: String
    /// `server default`, `grant <label>`...
    var usedBy: [String]
    var tools: [ToolSummary]

    var json: JSONValue {
        [
            "path": .string(path), "used_by": .array(usedBy.map(JSONValue.string)),
            "tools": .array(tools.map { ["name": .string($0.name), "effect": .string($0.effect), "rule": .string($0.rule)] }),
        ]
    }
}

/// What a server's policy does with one tool, before looking at any call's arguments.
struct ToolSummary: Sendable {
    var name: String
    /// `hidden`, `deny`, `approval`, `allow`, `allow, limited` or `allow, conditional`.
    var effect: String
    /// The rule that decides it: a JSON Pointer or an implicit rule.
    var rule: String

    init(name: String, policy: Policy) {
        self.name = name
        let entry = policy.rule(forTool: name)
        let shared = policy.allTools
        if !policy.isVisible(tool: name) {
            (effect, rule) = ("hidden", RuleReference.hidden.description)
        } else if entry == nil && shared == nil && policy.defaultAction == .deny {
            (effect, rule) = ("deny", RuleReference.defaultDeny.description)
        } else if let deny = [entry, shared].compactMap({ $0 }).first(where: { $0.action == .deny }) {
            (effect, rule) = ("deny", deny.pointer.appending("action").description)
        } else if let held = [entry, shared].compactMap({ $0 }).first(where: { $0.approval != nil || $0.action == .requireApproval }) {
            (effect, rule) = ("approval", (held.approval?.pointer ?? held.pointer.appending("action")).description)
        } else {
            let rules = [entry, shared].compactMap { $0 }
            let limited = rules.contains { !$0.limits.isEmpty }
            let conditional = rules.contains { !$0.require.isEmpty || !$0.denyIf.isEmpty || $0.arguments != nil || $0.validateInput }
            effect = "allow" + (limited ? ", limited" : "") + (conditional ? ", conditional" : "")
            rule = (entry ?? shared).map(\.pointer.description) ?? RuleReference.defaultAllow.description
        }
    }
}

extension GatewayConfiguration.Upstream {
    /// How the server is reached, as the dashboard names it.
    var transportName: String {
        switch self {
        case .stdio: "stdio"
        case .streamableHTTP: "streamable-http"
        case .sse: "sse"
        }
    }
}
