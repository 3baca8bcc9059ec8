public import WardenJSON

/// One server of the shipped catalogue: the package it comes from, how it was started, what
/// `warden scan` found in it, and the starter policy it emitted.
public struct CatalogueEntry: Sendable {
    /// The catalogue's name for the server: its PyPI package name (`mcp-server-git`).
    public var name: String
    /// The package version that was scanned.
    public var version: String
    /// The command that started it (`["mcp-server-git"]`).
    public var command: [String]
    /// The server's own name and version, as its `initialize` answer gave them.
    public var serverName: String?
    public var serverVersion: String?
    /// The scan's grade (A–F) for the server.
    public var grade: String?
    /// The tools, in the order the server listed them.
    public var tools: [CatalogueTool]
    /// The starter policy `warden scan --emit-policy` wrote for it, as YAML.
    public var policy: String
    /// The whole scan report, as stored in `catalogue/servers/<name>.json`.
    public var report: JSONValue

    /// The tools of each class, as `class: count` in class order.
    public var classCounts: [(toolClass: String, count: Int)] {
        CatalogueTool.classes.compactMap { toolClass in
            let count = tools.filter { $0.toolClass == toolClass }.count
            return count == 0 ? nil : (toolClass, count)
        }
    }
}

/// One tool of a catalogued server, with what the scan said about it.
public struct CatalogueTool: Sendable {
    /// The classes a scan gives, in the order the catalogue shows them.
    public static let classes = ["read", "write", "execute", "destructive", "financial", "other"]
    /// The risk levels, from lowest to highest.
    public static let risks = ["low", "medium", "high", "critical"]

    /// The tool's name, exactly as listed.
    public var name: String
    /// One of ``classes``.
    public var toolClass: String
    /// One of ``risks``.
    public var risk: String
    /// The one-line rationale naming the evidence.
    public var rationale: String
    /// The tool's description, as listed.
    public var description: String?
    /// SHA-256 of the tool's canonical definition (``ToolDefinition/fingerprint``).
    public var sha256: String?
    /// The scan's findings on the tool (poisoning checks, annotation disagreements).
    public var findings: [JSONValue]
    /// The tool as the scan reported it.
    public var report: JSONObject
}
