import WardenJSON

/// The checks a scan runs on what a model reads of a tool (its name, title, description and
/// every string of its input schema) for signs of poisoning: hidden instructions, invisible
/// or bidirectional characters, references to other tools or servers, exfiltration hints,
/// and a description far longer than its peers'.
///
/// ```swift
/// let findings = PoisoningChecks.check(tool, peers: listing.tools)
/// ```
public enum PoisoningChecks {
    /// The findings for `tool`; `peers` are the other tools of its server (their names are not
    /// "other tools", their descriptions set the usual length).
    public static func check(_ tool: ToolDefinition, peers: [ToolDefinition]) -> [Finding] {
        let context = Context(peerNames: Set(peers.map(\.name)).subtracting([tool.name]))
        var findings: [Finding] = []
        for (location, text) in texts(of: tool) {
            findings += check(text: text, location: location, context: context)
        }
        if let long = LongDescriptionCheck.check(tool, peers: peers) { findings.append(long) }
        return findings
    }

    /// The findings for one piece of text a model reads (a server's `instructions`, a
    /// prompt's description), found at `location`.
    public static func check(text: String, location: String, peerNames: Set<String> = []) -> [Finding] {
        check(text: text, location: location, context: Context(peerNames: peerNames))
    }

    struct Context {
        var peerNames: Set<String>
    }

    static func check(text: String, location: String, context: Context) -> [Finding] {
        InvisibleCharacterCheck.check(text, location: location)
            + HiddenInstructionCheck.check(text, location: location)
            + ToolReferenceCheck.check(text, location: location, peerNames: context.peerNames)
            + ExfiltrationCheck.check(text, location: location)
    }

    /// Every string of the definition a model reads, with where it is: the name, title,
    /// description, and the schema's property names, descriptions, titles, defaults and enum values.
    static func texts(of tool: ToolDefinition) -> [(location: String, text: String)] {
        var texts: [(String, String)] = [("name", tool.name)]
        if let title = tool.title { texts.append(("title", title)) }
        if let description = tool.description { texts.append(("description", description)) }
        if let schema = tool.inputSchema { collect(schema, at: "inputSchema", into: &texts, depth: 0) }
        return texts
    }

    private static func collect(_ value: JSONValue, at location: String, into texts: inout [(String, String)], depth: Int) {
        guard depth < 16 else { return }
        switch value {
        case .string(let string):
            texts.append((location, string))
        case .array(let items):
            for (index, item) in items.enumerated() { collect(item, at: "\(location)/\(index)", into: &texts, depth: depth + 1) }
        case .object(let object):
            for member in object.members {
                if location.hasSuffix("/properties") { texts.append(("\(location)/\(member.key) (name)", member.key)) }
                // `type`, `format`, `$ref`, `required` are structure, not prose a model reads as text.
                if ["type", "format", "$schema", "$ref", "$id", "required", "pattern"].contains(member.key) { continue }
                collect(member.value, at: "\(location)/\(member.key)", into: &texts, depth: depth + 1)
            }
        default:
            break
        }
    }

    /// `text` made readable: invisible and control characters written `\u{…}`, cut to `limit` characters.
    static func visible(_ text: some StringProtocol, limit: Int = 160) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if InvisibleCharacterCheck.kind(of: scalar) != nil || (scalar.value < 0x20 && scalar != "\n") || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else if scalar == "\n" {
                out += " "
            } else {
                out.unicodeScalars.append(scalar)
            }
            if out.count >= limit { return out + "…" }
        }
        return out
    }
}
