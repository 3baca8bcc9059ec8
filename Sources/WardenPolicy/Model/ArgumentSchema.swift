public import WardenJSON

/// A compiled argument schema: the JSON Schema subset Warden enforces on tool arguments.
///
/// Keywords: `type` (a name or a list; `integer` is a number with no fraction), `enum`,
/// `const`, `pattern`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
/// `minLength`, `maxLength` (in Unicode code points), `minItems`, `maxItems`, `items`,
/// `required`, `properties`, `additionalProperties` (boolean or schema). `title` and
/// `description` are accepted and ignored. Compile one with ``ArgumentSchema/compile(_:at:strict:)``.
public final class ArgumentSchema: Sendable {
    /// A JSON Schema type name.
    public enum TypeName: String, Sendable, CaseIterable {
        case null, boolean, number, integer, string, array, object
    }

    /// What `additionalProperties` says.
    public enum AdditionalProperties: Sendable {
        case allowed
        case forbidden
        case schema(ArgumentSchema)
    }

    /// Where this schema is in its document (its keywords' pointers are below it).
    public let pointer: JSONPointer
    // The keywords, as written (`nil` or empty when absent); see the type's summary.
    public let types: [TypeName]?
    public let enumValues: [JSONValue]?
    public let constValue: JSONValue?
    public let pattern: Pattern?
    public let minimum: JSONNumber?
    public let maximum: JSONNumber?
    public let exclusiveMinimum: JSONNumber?
    public let exclusiveMaximum: JSONNumber?
    public let minLength: Int?
    public let maxLength: Int?
    public let minItems: Int?
    public let maxItems: Int?
    public let items: ArgumentSchema?
    public let required: [String]
    /// `properties`, in document order.
    public let properties: [(name: String, schema: ArgumentSchema)]
    public let additionalProperties: AdditionalProperties

    /// A schema with the given keywords; with none, it accepts every value.
    init(
        pointer: JSONPointer,
        types: [TypeName]? = nil,
        enumValues: [JSONValue]? = nil,
        constValue: JSONValue? = nil,
        pattern: Pattern? = nil,
        minimum: JSONNumber? = nil,
        maximum: JSONNumber? = nil,
        exclusiveMinimum: JSONNumber? = nil,
        exclusiveMaximum: JSONNumber? = nil,
        minLength: Int? = nil,
        maxLength: Int? = nil,
        minItems: Int? = nil,
        maxItems: Int? = nil,
        items: ArgumentSchema? = nil,
        required: [String] = [],
        properties: [(name: String, schema: ArgumentSchema)] = [],
        additionalProperties: AdditionalProperties = .allowed
    ) {
        self.pointer = pointer
        self.types = types
        self.enumValues = enumValues
        self.constValue = constValue
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
        self.exclusiveMaximum = exclusiveMaximum
        self.minLength = minLength
        self.maxLength = maxLength
        self.minItems = minItems
        self.maxItems = maxItems
        self.items = items
        self.required = required
        self.properties = properties
        self.additionalProperties = additionalProperties
    }

    /// The schema of property `name` (byte-exact), if `properties` names it.
    func property(_ name: String) -> ArgumentSchema? {
        for property in properties where property.name.hasSameBytes(as: name) {
            return property.schema
        }
        return nil
    }
}
