/// A description that speaks of other tools or servers: how a poisoned tool reaches beyond
/// itself ("when calling send_email, also…", "instead of the other server's tool").
enum ToolReferenceCheck {
    static let rules: [TextRule] = [
        TextRule(
            #"\b(other|another|all|any|every|each)\s+(of\s+the\s+)?(tools?|servers?|mcp\s+servers?|functions|plugins|integrations)\b"#, .medium,
            "Speaks of other tools or servers."),
        TextRule(#"\b(instead\s+of|rather\s+than|in\s+place\s+of)\s+(the\s+|using\s+|calling\s+)?[`'"]?[a-z][a-z0-9]*(_[a-z0-9]+)+"#, .medium, "Tells the model to use it in place of another tool."),
    ]

    /// A snake_case name next to the word "tool": `the send_email tool`, `tool 'run_query'`.
    static let namedTool = #"(?:[`'"]?\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b[`'"]?\s+(?:tool|function)\b|\b(?:tool|function)\s+[`'"]?([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b)"#

    static func check(_ text: String, location: String, peerNames: Set<String>) -> [Finding] {
        var findings = TextRule.findings(rules, check: "tool-reference", in: text, location: location)
        if let regex = try? Regex(namedTool).ignoresCase() {
            for match in text.matches(of: regex) {
                let whole = text[match.range]
                guard let name = (match.output[1].substring ?? match.output[2].substring).map(String.init), !peerNames.contains(name) else { continue }
                findings.append(
                    Finding(
                        check: "tool-reference", severity: .medium, message: "Names a tool (`\(name)`) that this server does not list.",
                        matched: PoisoningChecks.visible(whole), location: location))
                break
            }
        }
        return findings
    }
}
