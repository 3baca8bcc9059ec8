public import WardenJSON

/// What `warden scan` reports of one server: who it is, each tool's classification and
/// findings, a grade, and the resources and prompts it lists.
public struct ScanReport: Sendable {
    /// `serverInfo` of the server's `initialize` result.
    public struct Server: Sendable, Equatable {
        public var name: String?
        public var version: String?

        public init(name: String?, version: String?) {
            self.name = name
            self.version = version
        }
    }

    /// One tool as scanned.
    public struct Tool: Sendable {
        public var definition: ToolDefinition
        public var classification: Classification
        /// Every finding: the poisoning checks' and the classification's (annotations that disagree), worst first.
        public var findings: [Finding]

        public var name: String { definition.name }
        /// The worst finding's severity, if any.
        public var worstSeverity: Severity? { findings.map(\.severity).max() }
    }

    public var server: Server
    /// What was scanned: the command line or URL (or the configured server's name).
    public var target: String?
    public var tools: [Tool]
    /// Findings in what the server says of itself (its `instructions`).
    public var serverFindings: [Finding]
    /// The resources, as listed.
    public var resources: [JSONValue]
    /// The prompts, as listed.
    public var prompts: [JSONValue]
    /// Lists the scan did not read to the end (it stopped at its page bound).
    public var truncated: [String]
    /// What else a reader should know: lists the server failed to give (`resources/list: error …`).
    public var warnings: [String] = []

    /// Classifies and checks every tool of a server's listing.
    public init(
        server: Server, target: String? = nil, tools: [ToolDefinition], instructions: String? = nil, resources: [JSONValue] = [],
        prompts: [JSONValue] = [], truncated: [String] = []
    ) {
        self.server = server
        self.target = target
        self.tools = tools.map { tool in
            let classification = Classifier.classify(tool)
            let findings = (PoisoningChecks.check(tool, peers: tools) + classification.findings).sorted { $0.severity > $1.severity }
            return Tool(definition: tool, classification: classification, findings: findings)
        }
        self.serverFindings = instructions.map { PoisoningChecks.check(text: $0, location: "instructions", peerNames: Set(tools.map(\.name))) } ?? []
        self.resources = resources
        self.prompts = prompts
        self.truncated = truncated
    }

    /// Every finding, the server's and its tools'.
    public var allFindings: [Finding] { serverFindings + tools.flatMap(\.findings) }

    /// The worst severity of any finding, if there is one.
    public var worstSeverity: Severity? { allFindings.map(\.severity).max() }

    /// The server's grade, A (best) to F: see ``Grade``.
    public var grade: Grade { Grade(risks: tools.map(\.classification.risk), findings: allFindings.map(\.severity)) }
}
