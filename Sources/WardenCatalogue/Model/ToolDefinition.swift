public import WardenJSON
import WardenStore

/// One tool as a server lists it in a `tools/list` result: what a client (and so a model) is
/// told about it. Everything a scan classifies and a pin fingerprints comes from here.
public struct ToolDefinition: Sendable, Equatable {
    /// The tool's name, exactly as listed.
    public var name: String
    /// The optional human-readable `title`.
    public var title: String?
    /// The `description` a model reads.
    public var description: String?
    /// The `inputSchema` (a JSON Schema object), if the server gave one.
    public var inputSchema: JSONValue?
    /// The `outputSchema`, if any.
    public var outputSchema: JSONValue?
    /// The `annotations` object (`readOnlyHint`, `destructiveHint`, …): the server's own claims.
    public var annotations: JSONObject?

    /// A definition from its parts.
    public init(
        name: String,
        title: String? = nil,
        description: String? = nil,
        inputSchema: JSONValue? = nil,
        outputSchema: JSONValue? = nil,
        annotations: JSONObject? = nil
    ) {
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.annotations = annotations
    }

    /// The definition in one entry of a `tools/list` result's `tools` array, or nil when the
    /// entry is not an object with a string `name`. Fields of the wrong type are left out.
    public init?(listEntry entry: JSONValue) {
        guard let object = entry.objectValue, let name = object["name"]?.stringValue else { return nil }
        self.init(
            name: name,
            title: object["title"]?.stringValue,
            description: object["description"]?.stringValue,
            inputSchema: object["inputSchema"],
            outputSchema: object["outputSchema"],
            annotations: object["annotations"]?.objectValue
        )
    }

    /// The parts a pin covers, as one JSON object: title, description, input and output schema,
    /// annotations (absent parts are left out).
    public var canonicalValue: JSONValue {
        var object = JSONObject()
        object.set("name", to: .string(name))
        if let title { object.set("title", to: .string(title)) }
        if let description { object.set("description", to: .string(description)) }
        if let inputSchema { object.set("inputSchema", to: inputSchema) }
        if let outputSchema { object.set("outputSchema", to: outputSchema) }
        if let annotations { object.set("annotations", to: .object(annotations)) }
        return .object(object)
    }

    /// SHA-256 (lowercase hex) of ``canonicalValue`` written as compact JSON with keys sorted
    /// by their bytes: two definitions that mean the same hash the same, whatever the server's
    /// key order or spacing; any change to what the model reads changes the hash.
    public var fingerprint: String {
        Digest.canonical(canonicalValue)
    }
}
