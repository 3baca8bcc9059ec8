/// Hints that a tool is meant to carry data out: URLs (where data could go), orders to send
/// or forward something somewhere, to put secrets or conversation in an argument, and long
/// encoded blobs (base64, hex) a person cannot read.
enum ExfiltrationCheck {
    static let url = #"\bhttps?://[^\s"'<>)\]]+"#
    static let rules: [TextRule] = [
        TextRule(
            #"\b(send|forward|post|upload|transmit|exfiltrate|leak|copy|mail|email|report)\b[^.\n]{0,60}\bto\b[^.\n]{0,40}(https?://[^\s"'<>)\]]+|[\w.+-]+@[\w-]+\.[\w.]+|webhook|server|endpoint)"#,
            .high, "Tells the model to send data to an address."),
        TextRule(
            #"\b(include|add|put|pass|append|attach|embed|insert)\b[^.\n]{0,50}\b(contents?\s+of|credentials?|api[\s_-]?keys?|access\s+tokens?|tokens|passwords?|secrets?|private\s+keys?|conversation|chat\s+history|system\s+prompt|previous\s+messages)"#,
            .high, "Tells the model to put secrets or conversation into a call."),
        TextRule(#"\b(send|forward|upload|transmit|exfiltrate|leak)\b[^.\n]{0,40}\bto\b"#, .medium, "Speaks of sending something somewhere."),
        TextRule(#"(?=[A-Za-z0-9+/]*[0-9])(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{40,}={0,2}"#, .medium, "A long encoded blob (base64?) a person cannot read."),
        TextRule(#"\b[0-9a-fA-F]{48,}\b"#, .medium, "A long hex blob a person cannot read."),
        TextRule(url, .low, "A URL: a place data could be sent (often just a link to documentation)."),
    ]

    static func check(_ text: String, location: String) -> [Finding] {
        var findings = TextRule.findings(rules, check: "exfiltration", in: text, location: location)
        // The general "send to" and the bare URL say less than the specific rule that matched the same text.
        if findings.contains(where: { $0.severity == .high && $0.message.hasPrefix("Tells the model to send") }) {
            findings.removeAll { $0.message.hasPrefix("Speaks of sending") }
        }
        return findings
    }
}
