import Synchronization
import WardenCatalogue

/// Cross-server shadowing on the aggregated endpoint `/mcp`: after each complete listing of
/// the servers' tools, the tools that shadow another server's (``ShadowingDetector``) are
/// hidden from the merged list and a call to one is refused as unknown, like a tool the policy
/// hides. Only `high` findings hide a tool; every finding is reported once per session.
///
/// A call to a tool the last listing did not show (or before any listing) must wait for a new
/// listing first (``needsListing(_:)``), so a client that calls without listing, or a server
/// that adds a tool later, cannot slip a shadowing tool past the check.
final class AggregateShadowingGuard: Sendable {
    let detector: ShadowingDetector
    /// The servers whose shadowing tools are only reported, not hidden (their `on_poisoning`
    /// is `log`). Empty by default: every server's shadowing tools are hidden.
    let reportOnly: Set<String>
    private let state = Mutex(State())

    private struct State {
        /// The tools of the last complete listing; nil before the first.
        var listed: Set<ServerToolName>?
        /// The tools hidden after the last listing, with the finding that hides each.
        var hidden: [ServerToolName: ShadowingFinding] = [:]
        /// The findings reported so far in this session.
        var reported: Set<ShadowingFinding> = []
    }

    init(separator: String, reportOnly: Set<String> = []) {
        self.detector = ShadowingDetector(separator: separator)
        self.reportOnly = reportOnly
    }

    /// Checks a complete listing (servers in configuration order). Returns the tools to leave
    /// out of the merged list, and the findings not reported before in this session.
    func check(_ servers: [ShadowingDetector.Server]) -> (hidden: Set<ServerToolName>, new: [ShadowingFinding]) {
        let findings = detector.findings(in: servers)
        var hidden: [ServerToolName: ShadowingFinding] = [:]
        for finding in findings where finding.severity == .high && !reportOnly.contains(finding.server) {
            let name = ServerToolName(server: finding.server, tool: finding.tool)
            if hidden[name] == nil { hidden[name] = finding }
        }
        let listed = Set(servers.flatMap { server in server.tools.map { ServerToolName(server: server.name, tool: $0.name) } })
        let new = state.withLock { state in
            state.listed = listed
            state.hidden = hidden
            let new = findings.filter { !state.reported.contains($0) }
            state.reported.formUnion(new)
            return new
        }
        return (Set(hidden.keys), new)
    }

    /// Whether `tool` was not in the last complete listing (or nothing was listed yet), so that
    /// the servers must be listed and checked again before a call to it is decided.
    func needsListing(_ tool: ServerToolName) -> Bool {
        state.withLock { $0.listed?.contains(tool) != true }
    }

    /// The finding that hides `tool`, if the last listing hid it.
    func hiding(_ tool: ServerToolName) -> ShadowingFinding? {
        state.withLock { $0.hidden[tool] }
    }
}
