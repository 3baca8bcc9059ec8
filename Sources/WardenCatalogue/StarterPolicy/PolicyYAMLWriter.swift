import WardenJSON

/// Writes a starter policy's YAML line by line: block structure for the rules, JSON (which
/// is YAML) for schemas and arguments, and comments made safe (one line, printable).
struct PolicyYAMLWriter {
    private(set) var text = ""

    mutating func line(_ line: String) {
        text += line + "\n"
    }

    mutating func header(for report: ScanReport, limits: StarterPolicy.Limits) {
        line("# A starter policy for \(Self.comment(report.title)), written by `warden scan` from its \(report.tools.count) tools (grade \(report.grade.rawValue)).")
        line("# Review it before use: each tool's class comes from its definition alone (see docs/scan.md).")
        line("#   read: allowed; write: at most \(limits.writesPerMinute) calls a minute per grant;")
        line("#   execute: at most \(limits.executionsPerMinute) a minute, each call approved by a person;")
        line("#   destructive and financial: each call approved by a person, financial within a daily budget;")
        line("#   every tool: its arguments checked against its own input schema, with no unknown properties")
        line("#   and bounded strings and lists.")
        line("# Check it with `warden policy check` and `warden policy test` (the cases are at the end).")
    }

    mutating func rule(_ rule: StarterRule) {
        let classification = rule.tool.classification
        line("")
        line("  # \(classification.toolClass.rawValue), risk \(classification.risk.rawValue): \(rule.summary).")
        line("  # Why: \(Self.comment(ScanReport.rationaleAfterClass(classification.rationale))) (confidence \(String(format2: classification.confidence))).")
        if let worst = rule.tool.findings.first {
            line("  # Finding (\(worst.severity.rawValue)): \(Self.comment(worst.check)): \(Self.comment(worst.message))")
        }
        line("  \(Self.scalar(rule.name)):")
        if let approval = rule.approval {
            line("    action: require_approval")
            line("    reason: \(Self.scalar(approval))")
            line("    approval: {timeout: 10m, on_timeout: deny}")
        }
        if !rule.limits.isEmpty {
            line("    limits:")
            for limit in rule.limits {
                if !limit.why.isEmpty { line("      # \(Self.comment(limit.why))") }
                var fields = "counter: \(Self.scalar(limit.counter)), window: \(limit.window), max: \(limit.max), scope: grant"
                if let from = limit.incrementFrom { fields += ", increment_from: \(Self.scalar(from))" }
                line("      - {\(fields)}")
            }
        }
        line("    # Its own input schema, tightened: no unknown properties, bounded strings and lists.")
        line("    args: \(JSONWriter.write(rule.args))")
    }

    mutating func tests(_ cases: [StarterTests.Case]) {
        line("# One call per class present: what the rules above must decide.")
        line("tests:")
        for testCase in cases {
            line("  - name: \(Self.scalar(testCase.name))")
            line("    tool: \(Self.scalar(testCase.tool))")
            line("    args: \(JSONWriter.write(testCase.args))")
            if testCase.repeatCount > 1 { line("    repeat: \(testCase.repeatCount)") }
            line("    expect: \(testCase.expect)")
            if let rule = testCase.rule { line("    rule: \(Self.scalar(rule))") }
        }
    }

    /// A plain scalar when it is safe as one, else a JSON (double-quoted YAML) string.
    static func scalar(_ value: String) -> String {
        let plain = value.first.map { $0.isLetter || $0 == "_" || $0 == "/" } == true
            && value.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || (48...57).contains($0.value) || "_-./".unicodeScalars.contains($0)) }
            && !["true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"].contains(value.lowercased())
        return plain ? value : JSONWriter.write(.string(value))
    }

    /// Text for a comment: one line, invisible characters shown as `\u{…}`, at most 240 characters.
    static func comment(_ text: String) -> String {
        PoisoningChecks.visible(text, limit: 240)
    }
}
