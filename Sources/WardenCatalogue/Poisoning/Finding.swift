/// How serious a finding is.
public enum Severity: String, Sendable, CaseIterable, Codable, Comparable {
    case info, low, medium, high, critical

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// Something in a tool's definition a person should look at: a sign of poisoning (hidden
/// instructions, invisible characters, exfiltration hints) or annotations that disagree with
/// the rest of the definition.
public struct Finding: Sendable, Equatable {
    /// The check that found it: `hidden-instructions`, `invisible-unicode`, `tool-reference`,
    /// `exfiltration`, `long-description`, `annotation-disagreement`.
    public var check: String
    public var severity: Severity
    /// What it means, in one sentence.
    public var message: String
    /// The text that matched, with invisible characters written as `\u{…}` (and tag
    /// characters also decoded) so that it can be read.
    public var matched: String
    /// Where: `description`, `inputSchema/properties/path/description`, `annotations`.
    public var location: String

    public init(check: String, severity: Severity, message: String, matched: String, location: String) {
        self.check = check
        self.severity = severity
        self.message = message
        self.matched = matched
        self.location = location
    }
}
