public import WardenJSON

extension DocumentDecoder {
    static let schemaKeys = [
        "type", "enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "minLength", "maxLength", "minItems", "maxItems", "items", "required", "properties",
        "additionalProperties", "title", "description",
    ]

    /// Compiles an argument schema (`args`, or a tool's `inputSchema` when not strict).
    mutating func compileSchema(_ value: JSONValue, at pointer: JSONPointer) -> ArgumentSchema? {
        guard let object = object(value, at: pointer, keys: Self.schemaKeys) else { return nil }
        func keyword(_ name: String) -> (JSONValue, JSONPointer)? {
            object[name].map { ($0, pointer.appending(name)) }
        }
        let lengthRange = 0...Int(Int32.max)

        var types: [ArgumentSchema.TypeName]?
        if let (value, at) = keyword("type") {
            if case .array(let names) = value {
                types = names.enumerated().compactMap { choice($1, at: at.appending($0), as: ArgumentSchema.TypeName.self) }
            } else if let name = choice(value, at: at, as: ArgumentSchema.TypeName.self) {
                types = [name]
            }
        }
        let enumValues = keyword("enum").flatMap { array($0, at: $1) }
        let pattern = keyword("pattern").flatMap { self.pattern($0, at: $1) }
        let minimum = keyword("minimum").flatMap { number($0, at: $1) }
        let maximum = keyword("maximum").flatMap { number($0, at: $1) }
        let exclusiveMinimum = keyword("exclusiveMinimum").flatMap { number($0, at: $1) }
        let exclusiveMaximum = keyword("exclusiveMaximum").flatMap { number($0, at: $1) }
        let minLength = keyword("minLength").flatMap { integer($0, at: $1, in: lengthRange) }
        let maxLength = keyword("maxLength").flatMap { integer($0, at: $1, in: lengthRange) }
        let minItems = keyword("minItems").flatMap { integer($0, at: $1, in: lengthRange) }
        let maxItems = keyword("maxItems").flatMap { integer($0, at: $1, in: lengthRange) }
        let items = keyword("items").flatMap { compileSchema($0, at: $1) }
        let required = keyword("required").flatMap { strings($0, at: $1) } ?? []
        var properties: [(name: String, schema: ArgumentSchema)] = []
        if let (value, at) = keyword("properties"), let entries = namedEntries(value, at: at) {
            for member in entries.members {
                if let schema = compileSchema(member.value, at: at.appending(member.key)) {
                    properties.append((member.key, schema))
                }
            }
        }
        var additionalProperties = ArgumentSchema.AdditionalProperties.allowed
        if let (value, at) = keyword("additionalProperties") {
            if case .bool(let allowed) = value {
                additionalProperties = allowed ? .allowed : .forbidden
            } else if let schema = compileSchema(value, at: at) {
                additionalProperties = .schema(schema)
            }
        }
        if let (value, at) = keyword("title") { _ = string(value, at: at) }
        if let (value, at) = keyword("description") { _ = string(value, at: at) }

        return ArgumentSchema(
            pointer: pointer,
            types: types,
            enumValues: enumValues,
            constValue: object["const"],
            pattern: pattern,
            minimum: minimum,
            maximum: maximum,
            exclusiveMinimum: exclusiveMinimum,
            exclusiveMaximum: exclusiveMaximum,
            minLength: minLength,
            maxLength: maxLength,
            minItems: minItems,
            maxItems: maxItems,
            items: items,
            required: required,
            properties: properties,
            additionalProperties: additionalProperties
        )
    }
}

extension ArgumentSchema {
    /// Compiles a tool's own `inputSchema` (for `validate_input`), leniently: keywords
    /// outside Warden's subset, or of an unexpected form, are left to the server to enforce.
    /// A schema that is not an object constrains nothing.
    public static func compile(toolInputSchema value: JSONValue) -> ArgumentSchema {
        var decoder = DocumentDecoder(file: nil, positions: [:], strict: false)
        return decoder.compileSchema(value, at: .root) ?? ArgumentSchema(pointer: .root)
    }
}
