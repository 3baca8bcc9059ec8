public import WardenJSON

/// One condition `{path, op, value}`, e.g. `{path: args.amount, op: lte, value: 100}`.
///
/// A condition on a path the call does not have is false, whatever the operator, except
/// `exists` (which is then false for `value: true` and true for `value: false`).
public final class Condition: Sendable {
    /// Where this condition is in the policy.
    public let pointer: JSONPointer
    /// What the condition looks at.
    public let path: ValuePath
    /// How it compares.
    public let op: Operator
    /// The value compared against (for `in`/`not_in` an array, for `exists` a boolean).
    public let value: JSONValue
    /// The compiled `value` of a `regex` condition.
    public let pattern: Pattern?
    /// An optional reason shown to the agent when a `require` condition fails.
    public let reason: String?

    public init(
        pointer: JSONPointer,
        path: ValuePath,
        op: Operator,
        value: JSONValue,
        pattern: Pattern? = nil,
        reason: String? = nil
    ) {
        self.pointer = pointer
        self.path = path
        self.op = op
        self.value = value
        self.pattern = pattern
        self.reason = reason
    }

    /// The comparison operators.
    public enum Operator: String, Sendable, CaseIterable {
        case eq, neq, lt, lte, gt, gte
        case `in`, notIn = "not_in"
        case exists, regex, contains
    }
}

/// A path into the facts of a call: `args.user.email`, `identity.name`, `identity.labels.team`.
public enum ValuePath: Sendable, Hashable, CustomStringConvertible {
    /// `args.<a>.<b>...`: a value inside the call's arguments. A segment that is a whole
    /// number also indexes arrays (`args.items.0`).
    case arguments([PathSegment])
    /// `identity.name`.
    case identityName
    /// `identity.grant`: the id of the grant the call came with.
    case identityGrant
    /// `identity.labels.<key>`.
    case identityLabel(String)
    /// `server`: the name of the server the call is for.
    case server
    /// `tool`: the tool's name.
    case tool
    /// `session`: the session id.
    case session

    /// One step of an `args` path.
    public struct PathSegment: Sendable, Hashable {
        /// The key as written.
        public var key: String
        /// The key as an array index, when it is a whole number.
        public var index: Int?

        public init(_ key: String) {
            self.key = key
            self.index = key.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ? Int(key) : nil
        }
    }

    /// The paths that name a fixed fact of the call, for suggestions and documentation.
    public static let fixedPaths = ["identity.name", "identity.grant", "server", "tool", "session"]

    /// Parses `args.a.b`, `identity.labels.team`, ...; `nil` if the path is not one of the forms above.
    public init?(_ string: String) {
        let parts = string.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let head = parts.first, !parts.contains(where: \.isEmpty) else { return nil }
        switch (head, parts.count) {
        case ("args", 2...): self = .arguments(parts.dropFirst().map(PathSegment.init))
        case ("identity", 2) where parts[1] == "name": self = .identityName
        case ("identity", 2) where parts[1] == "grant": self = .identityGrant
        case ("identity", 3) where parts[1] == "labels": self = .identityLabel(parts[2])
        case ("server", 1): self = .server
        case ("tool", 1): self = .tool
        case ("session", 1): self = .session
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .arguments(let segments): "args." + segments.map(\.key).joined(separator: ".")
        case .identityName: "identity.name"
        case .identityGrant: "identity.grant"
        case .identityLabel(let key): "identity.labels.\(key)"
        case .server: "server"
        case .tool: "tool"
        case .session: "session"
        }
    }
}
