/// A pattern (a case-insensitive regular expression) a poisoning check looks for, with the
/// severity and meaning of a match.
struct TextRule: Sendable {
    var pattern: String
    var severity: Severity
    var message: String

    init(_ pattern: String, _ severity: Severity, _ message: String) {
        self.pattern = pattern
        self.severity = severity
        self.message = message
    }

    /// The first match in `text`, if any.
    func firstMatch(in text: String) -> Substring? {
        guard let regex = try? Regex(pattern).ignoresCase() else { return nil }
        return text.firstMatch(of: regex).map { text[$0.range] }
    }

    /// A finding of check `check` for each rule matching `text`.
    static func findings(_ rules: [TextRule], check: String, in text: String, location: String) -> [Finding] {
        rules.compactMap { rule in
            rule.firstMatch(in: text).map {
                Finding(check: check, severity: rule.severity, message: rule.message, matched: PoisoningChecks.visible($0), location: location)
            }
        }
    }
}
