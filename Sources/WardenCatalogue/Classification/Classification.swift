/// What a scan makes of one tool: its class and risk, why, how sure it is, and what in its
/// annotations disagreed with the rest.
public struct Classification: Sendable, Equatable {
    /// The class.
    public var toolClass: ToolClass
    /// The risk: the class's default, raised for a way out to any host (a URL field, `openWorldHint`).
    public var risk: Risk
    /// One line naming the evidence.
    public var rationale: String
    /// How sure the classification is, from 0 to 1: 0.6 for a verb in the name alone, more as
    /// the description, schema and annotations agree, less when they disagree, 0.3 when nothing
    /// in the definition says. See `docs/scan.md`.
    public var confidence: Double
    /// The signals it rests on, strongest first.
    public var evidence: [Evidence]
    /// Annotations that disagree with the other evidence.
    public var findings: [Finding]
    /// Whether the tool can reach any host (a URL field, or `openWorldHint: true`).
    public var openWorld: Bool
    /// The top-level numeric field that holds an amount of money, if any (`amount`): what a
    /// value budget counts.
    public var amountField: String?

    public init(
        toolClass: ToolClass, risk: Risk, rationale: String, confidence: Double, evidence: [Evidence] = [],
        findings: [Finding] = [], openWorld: Bool = false, amountField: String? = nil
    ) {
        self.toolClass = toolClass
        self.risk = risk
        self.rationale = rationale
        self.confidence = confidence
        self.evidence = evidence
        self.findings = findings
        self.openWorld = openWorld
        self.amountField = amountField
    }
}
