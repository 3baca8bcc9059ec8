public import WardenJSON

/// Turns a tool's own `inputSchema` into a policy's `args` schema: only the keywords the
/// policy language checks (see `docs/policy.md`, `args`), and tighter than the server's:
///
/// - every object with `properties` refuses unknown properties (`additionalProperties: false`);
///   a tool with no schema, or no properties, takes no arguments;
/// - every string has a `maxLength` (``Limits/stringLength``, or ``Limits/contentLength``
///   for fields that carry content: `content`, `body`, `text`, `code`, `patch`, …);
/// - every array a `maxItems` (``Limits/items``);
/// - local `$ref`s (`#/$defs/…`, `#/definitions/…`) are resolved; an `anyOf`/`oneOf` of plain
///   types becomes a list of types (`Optional[int]` → `[integer, "null"]`);
/// - `pattern`, `format`, `default`, `examples` and other keywords are dropped: the server's
///   regular expression dialect is not the policy's, and they are the server's to check.
public struct SchemaTightener: Sendable {
    /// The bounds added where the server gave none.
    public struct Limits: Sendable {
        /// The longest string. The default is 4096.
        public var stringLength = 4096
        /// The longest string of a content field. The default is 1 MiB (1,048,576).
        public var contentLength = 1_048_576
        /// The most items of an array. The default is 1000.
        public var items = 1000

        public init() {}
    }

    public var limits = Limits()

    /// Field names whose strings are content (a file, a message), bounded by ``Limits/contentLength``.
    static let contentFields: Set<String> = [
        "content", "contents", "body", "text", "data", "code", "patch", "diff", "source", "file_text", "new_string", "old_string",
        "new_str", "old_str", "message", "markdown", "html", "script", "query", "sql", "command", "prompt", "input", "value", "description",
        "new_text", "old_text", "document", "payload",
    ]

    static let typeNames: Set<String> = ["null", "boolean", "number", "integer", "string", "array", "object"]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The `args` schema for a tool whose `inputSchema` is `schema` (nil: none given).
    public func tighten(_ schema: JSONValue?) -> JSONValue {
        guard let schema, schema.objectValue != nil else { return ["type": "object", "additionalProperties": false] }
        var tightened = tighten(schema, root: schema, field: nil, depth: 0)
        // The arguments are an object: a schema that says nothing of its properties takes none.
        if tightened["properties"] == nil, tightened["additionalProperties"] == nil {
            tightened = ["type": "object", "additionalProperties": false]
        }
        return tightened
    }

    private func tighten(_ schema: JSONValue, root: JSONValue, field: String?, depth: Int) -> JSONValue {
        guard depth < 12, let source = resolve(schema, root: root, depth: 0)?.objectValue else { return [:] }
        var out = JSONObject()
        var types = Self.types(of: source)
        if types == nil, let choices = (source["anyOf"] ?? source["oneOf"])?.arrayValue {
            // Optional[X] and X | Y of plain types: the union of their types, and the first
            // branch's details for the non-null one.
            let resolved = choices.compactMap { resolve($0, root: root, depth: 0) }
            let union = resolved.map { Self.types(of: $0.objectValue ?? JSONObject()) }
            if !union.isEmpty, union.allSatisfy({ $0 != nil }) {
                types = Array(orderedUnion(union.compactMap { $0 }))
                if let detailed = resolved.first(where: { Self.types(of: $0.objectValue ?? JSONObject()) != ["null"] }), resolved.count <= 2 {
                    let inner = tighten(detailed, root: root, field: field, depth: depth + 1)
                    for member in inner.objectValue?.members ?? [] where member.key != "type" { out.set(member.key, to: member.value) }
                }
            }
        }
        if let types { out.set("type", to: types.count == 1 ? .string(types[0]) : .array(types.map(JSONValue.string))) }
        for key in ["enum", "const"] {
            if let value = source[key], key == "const" || value.arrayValue != nil { out.set(key, to: value) }
        }
        for key in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
            if let value = source[key], case .number = value { out.set(key, to: value) }
        }
        for key in ["minLength", "maxLength", "minItems", "maxItems"] {
            if let value = source[key], let number = value.numberValue, let integer = Int(number.text), integer >= 0 {
                out.set(key, to: .number(JSONNumber(integer)))
            }
        }
        let allows = { (type: String) in types == nil || types?.contains(type) == true }
        if allows("string"), types != nil, out["maxLength"] == nil, source["enum"] == nil, source["const"] == nil {
            let bound = field.map { Self.contentFields.contains($0.lowercased()) } == true ? limits.contentLength : limits.stringLength
            out.set("maxLength", to: .number(JSONNumber(max(bound, out["minLength"]?.numberValue.flatMap { Int($0.text) } ?? 0))))
        }
        if allows("array"), types != nil {
            if let items = source["items"], items.objectValue != nil {
                out.set("items", to: tighten(items, root: root, field: field, depth: depth + 1))
            }
            if out["maxItems"] == nil { out.set("maxItems", to: .number(JSONNumber(max(limits.items, out["minItems"]?.numberValue.flatMap { Int($0.text) } ?? 0)))) }
        }
        if let properties = source["properties"]?.objectValue {
            var tightened = JSONObject()
            for member in properties.members {
                tightened.set(member.key, to: tighten(member.value, root: root, field: member.key, depth: depth + 1))
            }
            out.set("properties", to: .object(tightened))
            let names = Set(properties.keys)
            let required = (source["required"]?.arrayValue ?? []).compactMap(\.stringValue).filter(names.contains)
            if !required.isEmpty { out.set("required", to: .array(required.map(JSONValue.string))) }
            out.set("additionalProperties", to: false)
        } else if let additional = source["additionalProperties"] {
            // A map (`{additionalProperties: {type: string}}`): its values are checked.
            if case .bool = additional {
                out.set("additionalProperties", to: additional)
            } else if additional.objectValue != nil {
                out.set("additionalProperties", to: tighten(additional, root: root, field: nil, depth: depth + 1))
            }
        }
        return .object(out)
    }

    /// The schema a local `$ref` points to (`#/$defs/X`, `#/definitions/X`), followed up to 8 times.
    private func resolve(_ schema: JSONValue, root: JSONValue, depth: Int) -> JSONValue? {
        guard let reference = schema["$ref"]?.stringValue else { return schema }
        guard depth < 8, reference.hasPrefix("#"), let pointer = JSONPointer(String(reference.dropFirst())) else { return [:] }
        var target: JSONValue? = root
        for token in pointer.tokens { target = target?[token] }
        return target.flatMap { resolve($0, root: root, depth: depth + 1) } ?? [:]
    }

    /// The valid type names of a schema's `type`, or nil when it gives none (or none valid).
    private static func types(of schema: JSONObject) -> [String]? {
        let names: [String]
        switch schema["type"] {
        case .string(let name)?: names = [name]
        case .array(let list)?: names = list.compactMap(\.stringValue)
        default: return nil
        }
        let valid = names.filter(typeNames.contains)
        return valid.isEmpty ? nil : valid
    }
}

/// The union of lists, each name once, in order of first appearance.
private func orderedUnion(_ lists: [[String]]) -> [String] {
    var seen: Set<String> = []
    return lists.flatMap { $0 }.filter { seen.insert($0).inserted }
}
