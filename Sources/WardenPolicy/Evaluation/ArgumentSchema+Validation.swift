import WardenJSON

extension ArgumentSchema {
    /// Why a value does not satisfy a schema.
    struct Violation: Sendable {
        /// The keyword that failed, e.g. `/tools/x/args/properties/amount/maximum`.
        var rule: JSONPointer
        /// Where in the arguments, e.g. `/amount`.
        var location: JSONPointer
        /// What is wrong, without the offending value.
        var message: String

        var description: String {
            let place = location.tokens.isEmpty ? "arguments" : location.description
            return "\(place) \(message)"
        }
    }

    /// The first violation of this schema by `value`, or `nil` when it conforms.
    func violation(by value: JSONValue) -> Violation? {
        if let types, !types.contains(where: { Self.value(value, is: $0) }) {
            let names = types.map(\.rawValue).joined(separator: " or ")
            return violation("type", "must be of type \(names)")
        }
        if let enumValues, !enumValues.contains(value) {
            return violation("enum", "must be one of \(JSONValue.array(enumValues))")
        }
        if let constValue, constValue != value {
            return violation("const", "must be \(constValue)")
        }
        switch value {
        case .number(let number):
            if let minimum, number < minimum { return violation("minimum", "must be >= \(minimum.text)") }
            if let maximum, number > maximum { return violation("maximum", "must be <= \(maximum.text)") }
            if let exclusiveMinimum, number <= exclusiveMinimum {
                return violation("exclusiveMinimum", "must be > \(exclusiveMinimum.text)")
            }
            if let exclusiveMaximum, number >= exclusiveMaximum {
                return violation("exclusiveMaximum", "must be < \(exclusiveMaximum.text)")
            }
        case .string(let string):
            // A string has at most as many code points as UTF-8 bytes, so most checks need no count.
            let bytes = string.utf8.count
            if (minLength.map { bytes < $0 * 4 } ?? false) || (maxLength.map { bytes > $0 } ?? false) {
                let length = string.unicodeScalars.count
                if let minLength, length < minLength { return violation("minLength", "must be at least \(minLength) characters long") }
                if let maxLength, length > maxLength { return violation("maxLength", "must be at most \(maxLength) characters long") }
            }
            if let pattern {
                switch pattern.search(string) {
                case .match: break
                case .noMatch: return violation("pattern", "must match the pattern \"\(pattern.abbreviatedSource)\"")
                case .limitExceeded:
                    // Fail closed: what cannot be checked is not accepted.
                    return violation("pattern", "is too long to check against the pattern \"\(pattern.abbreviatedSource)\"")
                }
            }
        case .array(let elements):
            if let minItems, elements.count < minItems { return violation("minItems", "must have at least \(minItems) items") }
            if let maxItems, elements.count > maxItems { return violation("maxItems", "must have at most \(maxItems) items") }
            if let items {
                for (index, element) in elements.enumerated() {
                    if var inner = items.violation(by: element) {
                        inner.location = JSONPointer(tokens: [String(index)] + inner.location.tokens)
                        return inner
                    }
                }
            }
        case .object(let object):
            for name in required where object[name] == nil {
                return violation("required", "is missing the required property \"\(name)\"")
            }
            for member in object.members {
                let schema: ArgumentSchema
                if let declared = property(member.key) {
                    schema = declared
                } else {
                    switch additionalProperties {
                    case .allowed: continue
                    case .forbidden: return violation("additionalProperties", "has an unexpected property \"\(member.key)\"")
                    case .schema(let additional): schema = additional
                    }
                }
                if var inner = schema.violation(by: member.value) {
                    inner.location = JSONPointer(tokens: [member.key] + inner.location.tokens)
                    return inner
                }
            }
        case .null, .bool:
            break
        }
        return nil
    }

    private func violation(_ keyword: String, _ message: String) -> Violation {
        Violation(rule: pointer.appending(keyword), location: .root, message: message)
    }

    private static func value(_ value: JSONValue, is type: TypeName) -> Bool {
        switch (type, value) {
        case (.null, .null), (.boolean, .bool), (.number, .number), (.string, .string), (.array, .array), (.object, .object):
            true
        case (.integer, .number(let number)):
            number.isInteger
        default:
            false
        }
    }
}
