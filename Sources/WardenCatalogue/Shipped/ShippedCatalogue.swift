import WardenJSON
import WardenPolicy

/// The catalogue of real servers shipped inside the binary: every server's scanned tools and
/// starter policy, read from the JSON lines `catalogue/build` generates (one server a line: its
/// `catalogue/servers/<name>.json` object plus a `policy` member holding its starter policy).
public struct ShippedCatalogue: Sendable {
    /// The servers, sorted by name.
    public let entries: [CatalogueEntry]

    /// The catalogue in `jsonLines`; throws ``CatalogueLoadError`` naming the first bad line.
    public init(jsonLines: String) throws(CatalogueLoadError) {
        var entries: [CatalogueEntry] = []
        for (index, line) in jsonLines.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy(\.isWhitespace) {
            let value: JSONValue
            do {
                value = try JSONReader.parse(String(line))
            } catch {
                throw CatalogueLoadError(line: index + 1, reason: "not JSON: \(error)")
            }
            entries.append(try Self.entry(value, line: index + 1))
        }
        self.entries = entries.sorted { $0.name < $1.name }
    }

    /// The server called `name` (its package name, matched without regard to case).
    public func entry(named name: String) -> CatalogueEntry? {
        let wanted = name.lowercased()
        return entries.first { $0.name.lowercased() == wanted }
    }

    /// Up to `limit` server names closest to `word`: names containing it first, then by edit
    /// distance.
    public func suggestions(for word: String, limit: Int = 3) -> [String] {
        let wanted = word.lowercased()
        let ranked = entries.map { entry -> (name: String, score: Int) in
            let name = entry.name.lowercased()
            if name.contains(wanted) { return (entry.name, name.count - wanted.count - 1000) }
            return (entry.name, Suggestion.editDistance(Array(wanted.unicodeScalars), Array(name.unicodeScalars)))
        }
        return ranked.sorted { ($0.score, $0.name) < ($1.score, $1.name) }.prefix(limit).map(\.name)
    }

    /// The total number of tools.
    public var toolCount: Int { entries.reduce(0) { $0 + $1.tools.count } }

    static func entry(_ value: JSONValue, line: Int) throws(CatalogueLoadError) -> CatalogueEntry {
        func fail(_ reason: String) -> CatalogueLoadError { CatalogueLoadError(line: line, reason: reason) }
        guard let object = value.objectValue else { throw fail("not an object") }
        guard let name = object["package"]?["name"]?.stringValue, let version = object["package"]?["version"]?.stringValue
        else { throw fail("no package name and version") }
        guard let policy = object["policy"]?.stringValue else { throw fail("\(name): no policy") }
        guard let toolValues = object["tools"]?.arrayValue else { throw fail("\(name): no tools") }
        var tools: [CatalogueTool] = []
        for toolValue in toolValues {
            guard let tool = toolValue.objectValue, let toolName = tool["name"]?.stringValue else {
                throw fail("\(name): a tool without a name")
            }
            guard let toolClass = tool["class"]?.stringValue, let risk = tool["risk"]?.stringValue,
                let rationale = tool["rationale"]?.stringValue
            else { throw fail("\(name): tool \(toolName) has no class, risk or rationale") }
            tools.append(CatalogueTool(
                name: toolName,
                toolClass: toolClass,
                risk: risk,
                rationale: rationale,
                description: tool["description"]?.stringValue,
                sha256: tool["sha256"]?.stringValue,
                findings: tool["findings"]?.arrayValue ?? [],
                report: tool
            ))
        }
        var report = object
        report.members.removeAll { $0.key == "policy" }
        return CatalogueEntry(
            name: name,
            version: version,
            command: object["command"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            serverName: object["server"]?["name"]?.stringValue,
            serverVersion: object["server"]?["version"]?.stringValue,
            grade: object["grade"]?.stringValue,
            tools: tools,
            policy: policy,
            report: .object(report)
        )
    }
}
