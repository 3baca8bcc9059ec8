import WardenCatalogue
import WardenJSON

/// Tool definitions written for tests: a name, a description, fields by type, annotations.
enum ToolFixtures {
    static func tool(
        _ name: String, _ description: String? = nil, fields: [(String, String)] = [], required: [String] = [],
        annotations: [String: Bool] = [:]
    ) -> ToolDefinition {
        var properties = JSONObject()
        for (field, type) in fields { properties.set(field, to: ["type": .string(type)]) }
        var schema = (["type": "object", "properties": .object(properties)] as JSONValue).objectValue!
        if !required.isEmpty { schema.set("required", to: .array(required.map(JSONValue.string))) }
        var hints = JSONObject()
        for key in ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] {
            if let value = annotations[key] { hints.set(key, to: .bool(value)) }
        }
        return ToolDefinition(
            name: name, description: description, inputSchema: .object(schema), annotations: annotations.isEmpty ? nil : hints)
    }

    /// A server's worth of tools of every class, as a realistic filesystem/shell/payments server lists them.
    static let mixed: [ToolDefinition] = [
        tool("read_file", "Read the complete contents of a file from the file system.", fields: [("path", "string")], required: ["path"]),
        tool("write_file", "Create a new file or completely overwrite an existing file with new content.", fields: [("path", "string"), ("content", "string")], required: ["path", "content"]),
        tool("delete_file", "Delete a file from the file system.", fields: [("path", "string")], required: ["path"]),
        tool("run_command", "Run a shell command and return its output.", fields: [("command", "string"), ("timeout", "integer")], required: ["command"]),
        tool("create_payment", "Create a payment to a recipient.", fields: [("amount", "number"), ("currency", "string"), ("recipient", "string")], required: ["amount", "currency", "recipient"]),
        tool("search", "Search the web and return the top results.", fields: [("query", "string"), ("url", "string")], required: ["query"]),
    ]
}
