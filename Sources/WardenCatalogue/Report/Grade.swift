/// A server's grade, from the worst of its tools' risks and its findings' severities:
///
/// - **F**: a critical finding (hidden instructions, tag characters).
/// - **D**: a high finding (bidirectional text, orders to the model, a lying annotation).
/// - **C**: a tool of critical risk (destructive, financial), or a medium finding.
/// - **B**: a tool of high risk (execute, an open-world write), or a low finding.
/// - **A**: only tools of low and medium risk, and no finding above info.
public enum Grade: String, Sendable, CaseIterable, Comparable {
    case A, B, C, D, F

    public init(risks: [Risk], findings: [Severity]) {
        let worstFinding = findings.max()
        let worstRisk = risks.max()
        if worstFinding == .critical {
            self = .F
        } else if worstFinding == .high {
            self = .D
        } else if worstRisk == .critical || worstFinding == .medium {
            self = .C
        } else if worstRisk == .high || worstFinding == .low {
            self = .B
        } else {
            self = .A
        }
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: Grade, rhs: Grade) -> Bool { lhs.rank < rhs.rank }
}
