import WardenJSON

/// Arguments that pass an `args` schema made by ``SchemaTightener``: each required property
/// with the simplest value its schema allows (an enum's first value, a number within its
/// bounds, a string of its minimum length). What a starter policy's tests call tools with.
enum SampleArguments {
    static func value(for schema: JSONValue, depth: Int = 0) -> JSONValue {
        guard depth < 12, let object = schema.objectValue else { return .null }
        if let constant = object["const"] { return constant }
        if let first = object["enum"]?.arrayValue?.first { return first }
        let types: [String] = object["type"]?.stringValue.map { [$0] } ?? object["type"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let type = types.first { $0 != "null" } ?? types.first ?? "object"
        func integer(_ key: String) -> Int? { object[key]?.numberValue.flatMap { Int($0.text) } }
        switch type {
        case "string":
            return .string(String(repeating: "a", count: max(1, integer("minLength") ?? 1)))
        case "integer", "number":
            if let minimum = object["minimum"]?.numberValue { return .number(minimum) }
            if let maximum = object["maximum"]?.numberValue, let value = Int(maximum.text), value < 1 { return .number(maximum) }
            if let exclusive = object["exclusiveMinimum"]?.numberValue, let value = Int(exclusive.text) { return .number(JSONNumber(value + 1)) }
            return 1
        case "boolean":
            return true
        case "null":
            return .null
        case "array":
            let count = integer("minItems") ?? 0
            let item = object["items"].map { value(for: $0, depth: depth + 1) } ?? .string("a")
            return .array(Array(repeating: item, count: count))
        default:
            var arguments = JSONObject()
            let required = Set((object["required"]?.arrayValue ?? []).compactMap(\.stringValue))
            for member in object["properties"]?.objectValue?.members ?? [] where required.contains(member.key) {
                arguments.set(member.key, to: value(for: member.value, depth: depth + 1))
            }
            return .object(arguments)
        }
    }
}
