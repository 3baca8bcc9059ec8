import Foundation
import Logging
import WardenCatalogue
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

/// Cross-server shadowing on the aggregated endpoint (see ``AggregateShadowingGuard``): the
/// merged `tools/list` leaves out the tools that shadow another server's, and a call to one is
/// refused as unknown. Both are audited: one `shadowing` record per high finding and session
/// when it is found, one `hidden` record per refused call.
extension AggregateSession {
    /// The members' tools merged under their prefixed names, without the shadowing ones;
    /// reports the findings this session has not reported yet.
    func merged(_ listing: [(server: String, tools: [JSONObject])]) -> [JSONValue] {
        let servers = listing.map { member in
            ShadowingDetector.Server(name: member.server, tools: member.tools.compactMap { ToolDefinition(listEntry: .object($0)) })
        }
        let (hidden, new) = shadowing.check(servers)
        new.forEach { report($0, hidden: hidden.contains(ServerToolName(server: $0.server, tool: $0.tool))) }
        var tools: [JSONValue] = []
        for (server, entries) in listing {
            for var tool in entries {
                guard let original = tool["name"]?.stringValue, !hidden.contains(ServerToolName(server: server, tool: original)) else { continue }
                tool.set("name", to: .string(server + separator + original))
                tools.append(.object(tool))
            }
        }
        return tools
    }

    /// The answer refusing a call to a shadowing tool (as an unknown tool), or nil to go on. A
    /// tool the last listing did not show is checked against a new listing first: calling
    /// without listing, or after a server added a tool, gets no shadowing tool through.
    func shadowingRefusal(_ body: JSONObject, id: JSONValue, timeout: Duration, httpRequest: String) async -> [UInt8]? {
        guard case .string(let name)? = body["params"]?["name"], let (server, _, tool) = memberAndServer(named: name) else {
            return nil  // not a routable call: `routed` refuses it
        }
        let key = ServerToolName(server: server, tool: tool)
        if shadowing.needsListing(key) {
            _ = merged(await listMembers(timeout: timeout))
        }
        guard let finding = shadowing.hiding(key) else { return nil }
        audit(AuditRecord(
            time: Date(), requestID: RequestKey(id).text, identity: identity.name, grant: identity.grant, session: self.id, server: server,
            method: "tools/call", tool: tool, decision: "hidden", rule: Self.rule(finding),
            message: JSONRPCError.Refusal.unknownTool(name) + " (hidden on the aggregated endpoint: \(finding.explanation))", httpRequestID: httpRequest))
        return JSONRPCError.unknownTool(id: id, name: name)
    }

    /// Reports a finding once per session: a finding that hides its tool (or would, but for
    /// `on_poisoning: log`) is logged as a warning and audited; a low one (the same bare name
    /// on two servers, as when one server is configured twice) is only logged, at info level.
    private func report(_ finding: ShadowingFinding, hidden: Bool) {
        let outcome = hidden ? "hidden on the aggregated endpoint" : "reported only"
        let metadata: Logger.Metadata = [
            "server": "\(finding.server)", "tool": "\(finding.tool)", "shadowing": "\(finding.kind.rawValue)", "session": "\(id)",
        ]
        guard finding.severity == .high else {
            logger.info("a tool has the same name as another server's: \(finding.explanation)", metadata: metadata)
            return
        }
        logger.warning("a tool shadows another server's tool: \(finding.explanation); \(outcome)", metadata: metadata)
        audit(AuditRecord(
            time: Date(), identity: identity.name, grant: identity.grant, session: id, server: finding.server, method: "tools/list",
            tool: finding.tool, decision: "shadowing", rule: Self.rule(finding), message: "\(finding.explanation); \(outcome)"))
    }

    /// The rule an audit record names: `(shadowing: <kind>)`.
    private static func rule(_ finding: ShadowingFinding) -> String {
        "(shadowing: \(finding.kind.rawValue))"
    }
}
