public import WardenJSON

/// Reads a `tools/list` result: the tools it advertises, and the result with the tools a
/// caller may not see removed. Every other member (`nextCursor`, `_meta`, fields of each tool)
/// is kept as it was.
public struct ToolListFilter {
    /// A tool the server advertised.
    public struct Tool: Sendable {
        /// The tool's name.
        public var name: String
        /// The tool's `inputSchema`, if it has one.
        public var inputSchema: JSONValue?
    }

    /// The tools in the result, in order.
    public private(set) var tools: [Tool] = []
    /// The result without hidden tools, or `nil` when nothing was removed (forward the original bytes).
    public private(set) var filteredResult: JSONValue?

    /// Reads `result` (the `result` member of a tools/list response), keeping the tools for which
    /// `isVisible` is true. A result that is not shaped like a tools/list result is kept as is.
    public init(result: JSONValue, isVisible: (String) -> Bool) {
        guard case .object(var object) = result, case .array(let entries)? = object["tools"] else { return }
        var kept: [JSONValue] = []
        for entry in entries {
            guard case .string(let name)? = entry["name"] else { continue }
            tools.append(Tool(name: name, inputSchema: entry["inputSchema"]))
            if isVisible(name) { kept.append(entry) }
        }
        guard kept.count != entries.count else { return }
        for index in object.members.indices where object.members[index].key == "tools" {
            object.members[index].value = .array(kept)
        }
        filteredResult = .object(object)
    }
}
