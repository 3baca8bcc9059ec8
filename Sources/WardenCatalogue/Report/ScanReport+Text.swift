import WardenJSON

extension ScanReport {
    /// The server's name and version, as a heading says them.
    var title: String {
        let name = server.name ?? target ?? "(unnamed server)"
        return server.version.flatMap { $0.isEmpty ? nil : "\(name) \($0)" } ?? name
    }

    /// `12 tools: 7 read, 4 write, 1 destructive; risk: 7 low, 4 medium, 1 critical; findings: 2 high`.
    public var summaryLine: String {
        func counts<T: RawRepresentable & CaseIterable & Equatable>(_ values: [T], order: [T]) -> String where T.RawValue == String {
            let parts = order.compactMap { value -> String? in
                let count = values.count { $0 == value }
                return count > 0 ? "\(count) \(value.rawValue)" : nil
            }
            return parts.isEmpty ? "none" : parts.joined(separator: ", ")
        }
        let classes = counts(tools.map(\.classification.toolClass), order: Array(ToolClass.allCases))
        let risks = counts(tools.map(\.classification.risk), order: Array(Risk.allCases))
        let findings = counts(allFindings.map(\.severity), order: Array(Severity.allCases.reversed()))
        return "\(tools.count) tools: \(classes); risk: \(risks); findings: \(findings); \(resources.count) resources, \(prompts.count) prompts"
    }

    /// The report for a terminal: a heading with the grade, one row per tool, the findings, the summary.
    public func table() -> String {
        var lines = ["\(title) — grade \(grade.rawValue)"]
        let rows = [["TOOL", "CLASS", "RISK", "CONF", "FINDINGS", "RATIONALE"]]
            + tools.map { tool in
                [
                    PoisoningChecks.visible(tool.name, limit: 40), tool.classification.toolClass.rawValue, tool.classification.risk.rawValue,
                    String(format2: tool.classification.confidence),
                    tool.worstSeverity.map { "\(tool.findings.count) (\($0.rawValue))" } ?? "-",
                    Self.rationaleAfterClass(tool.classification.rationale),
                ]
            }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let padded = zip(row.prefix(5), widths).map { $0 + String(repeating: " ", count: max(0, $1 - $0.count)) }
            lines.append((padded + [row[5]]).joined(separator: "  "))
        }
        let findings = findingLines()
        if !findings.isEmpty {
            lines.append("")
            lines.append("findings:")
            lines += findings.map { "  " + $0 }
        }
        lines.append("")
        lines.append(summaryLine)
        if !truncated.isEmpty { lines.append("warning: cut off at the page bound: \(truncated.joined(separator: ", "))") }
        lines += warnings.map { "warning: \(PoisoningChecks.visible($0, limit: 200))" }
        return lines.joined(separator: "\n")
    }

    /// The report as Markdown: a heading, a table of tools, the findings, the resources and prompts.
    public func markdown() -> String {
        var lines = ["# \(Self.escape(title))", "", "Grade **\(grade.rawValue)**. \(summaryLine).", ""]
        lines.append("| Tool | Class | Risk | Confidence | Findings | Rationale |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for tool in tools {
            let findings = tool.worstSeverity.map { "\(tool.findings.count) (\($0.rawValue))" } ?? "–"
            lines.append(
                "| `\(Self.escape(PoisoningChecks.visible(tool.name, limit: 60)))` | \(tool.classification.toolClass.rawValue) | \(tool.classification.risk.rawValue) | "
                    + "\(String(format2: tool.classification.confidence)) | \(findings) | \(Self.escape(Self.rationaleAfterClass(tool.classification.rationale))) |")
        }
        let findings = findingLines()
        if !findings.isEmpty {
            lines += ["", "## Findings", ""]
            lines += findings.map { "- " + Self.escape($0) }
        }
        if !resources.isEmpty {
            lines += ["", "## Resources", ""]
            lines += resources.map { "- `\(Self.escape(PoisoningChecks.visible($0["uri"]?.stringValue ?? "?", limit: 100)))` \(Self.escape(PoisoningChecks.visible($0["name"]?.stringValue ?? "", limit: 80)))" }
        }
        if !prompts.isEmpty {
            lines += ["", "## Prompts", ""]
            lines += prompts.map { "- `\(Self.escape(PoisoningChecks.visible($0["name"]?.stringValue ?? "?", limit: 80)))`" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per finding, worst first: `[critical] tool/description: hidden-instructions: … — "matched"`.
    func findingLines() -> [String] {
        let all = serverFindings.map { ("(server)", $0) } + tools.flatMap { tool in tool.findings.map { (PoisoningChecks.visible(tool.name, limit: 40), $0) } }
        return all.sorted { $0.1.severity > $1.1.severity }.map { owner, finding in
            "[\(finding.severity.rawValue)] \(owner) \(finding.location): \(finding.check): \(finding.message) — \"\(finding.matched)\""
        }
    }

    /// The rationale without its leading `class (risk): `, which the table shows in its own columns.
    static func rationaleAfterClass(_ rationale: String) -> String {
        guard let range = rationale.firstRange(of: "): ") else { return rationale }
        return String(rationale[range.upperBound...])
    }

    static func escape(_ text: String) -> String {
        text.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
            .split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " ")
    }
}
