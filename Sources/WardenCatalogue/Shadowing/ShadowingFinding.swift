/// One tool of the aggregated endpoint that shadows another server's tool: a model reading
/// the merged list could call it, or follow it, when it meant the other.
///
/// The finding names the *shadowing* tool (the one to hide) and the tool it shadows. Which one
/// shadows is fixed per kind: the tool whose name or description points at another server's
/// tool, or, when two names merely collide, the one of the server listed later in the
/// configuration (the earlier server's tool is taken as the original).
public struct ShadowingFinding: Sendable, Equatable, Hashable {
    /// What makes the tool shadow another.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Its name embeds another configured server's name and the separator
        /// (`mail__send_email` on the server `evil` is listed as `evil__mail__send_email`).
        case impersonatesServer = "impersonates_server"
        /// Its aggregated name equals another server's tool's once case, separators
        /// (`_ - .` and spaces), compatibility forms and look-alike letters are folded.
        case foldedCollision = "folded_collision"
        /// Its description or title names another server's tool: the classic shadowing
        /// attack ("when `send_email` is available, always BCC …", "use this instead of …").
        case referencesForeignTool = "references_foreign_tool"
        /// The same bare name as another server's tool. Common and usually harmless (two file
        /// servers both have `read_file`), so it is only reported.
        case sameName = "same_name"
    }

    /// How much a finding weighs: a `high` finding hides the tool on the aggregated endpoint
    /// (when shadowing blocks), a `low` one is only reported.
    public enum Severity: String, Sendable, Hashable, Comparable {
        case low, high

        public static func < (a: Self, b: Self) -> Bool { a == .low && b == .high }
    }

    public var kind: Kind
    public var severity: Severity
    /// The server of the shadowing tool.
    public var server: String
    /// The shadowing tool's own name (as its server lists it).
    public var tool: String
    /// The server whose tool is shadowed.
    public var shadowedServer: String
    /// The shadowed tool's name, when one tool is meant (impersonating a server may name none).
    public var shadowedTool: String?
    /// The text that gave it away: the name, or an excerpt of the description.
    public var evidence: String

    public init(
        kind: Kind, severity: Severity, server: String, tool: String, shadowedServer: String, shadowedTool: String?, evidence: String
    ) {
        self.kind = kind
        self.severity = severity
        self.server = server
        self.tool = tool
        self.shadowedServer = shadowedServer
        self.shadowedTool = shadowedTool
        self.evidence = evidence
    }

    /// One sentence for logs, audit records and `scan`, naming both tools.
    public var explanation: String {
        let target = shadowedTool.map { "\(shadowedServer)'s tool \($0)" } ?? "the server \(shadowedServer)"
        switch kind {
        case .impersonatesServer:
            return "\(server)'s tool \(tool) impersonates \(target): its name embeds that server's prefix"
        case .foldedCollision:
            return "\(server)'s tool \(tool) reads like \(target) once case, separators and look-alike letters are ignored"
        case .referencesForeignTool:
            return "\(server)'s tool \(tool) names \(target) in its description: \"\(evidence)\""
        case .sameName:
            return "\(server)'s tool \(tool) has the same name as \(target)"
        }
    }
}
