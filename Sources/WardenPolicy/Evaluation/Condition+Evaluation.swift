import WardenJSON

extension ValuePath {
    /// The value at this path in `call`, or `nil` when the call has none there.
    func resolve(in call: ToolCall) -> JSONValue? {
        switch self {
        case .arguments(let segments):
            var current = JSONValue.object(call.arguments)
            for segment in segments {
                switch current {
                case .object(let object):
                    guard let next = object[segment.key] else { return nil }
                    current = next
                case .array(let array):
                    guard let index = segment.index, index < array.count else { return nil }
                    current = array[index]
                default:
                    return nil
                }
            }
            return current
        case .identityName:
            return .string(call.identity.name)
        case .identityGrant:
            return call.identity.grant.map(JSONValue.string)
        case .identityLabel(let key):
            return call.identity.labels[key].map(JSONValue.string)
        case .server:
            return call.server.map(JSONValue.string)
        case .tool:
            return .string(call.tool)
        case .session:
            return call.session.map(JSONValue.string)
        }
    }
}

extension Condition {
    /// Whether the condition holds for `call`; `nil` when that cannot be known: a `regex`
    /// search gave up at its step limit. A decision then fails closed.
    func holds(for call: ToolCall) -> Bool? {
        let actual = path.resolve(in: call)
        if op == .exists {
            return (actual != nil) == (value.boolValue ?? true)
        }
        guard let actual else { return false }
        switch op {
        case .eq: return actual == value
        case .neq: return actual != value
        case .lt: return Self.order(actual, value).map { $0 < 0 } ?? false
        case .lte: return Self.order(actual, value).map { $0 <= 0 } ?? false
        case .gt: return Self.order(actual, value).map { $0 > 0 } ?? false
        case .gte: return Self.order(actual, value).map { $0 >= 0 } ?? false
        case .in: return value.arrayValue?.contains(actual) ?? false
        case .notIn: return !(value.arrayValue?.contains(actual) ?? true)
        case .regex:
            guard case .string(let string) = actual, let pattern else { return false }
            switch pattern.search(string) {
            case .match: return true
            case .noMatch: return false
            case .limitExceeded: return nil
            }
        case .contains:
            switch (actual, value) {
            case (.string(let haystack), .string(let needle)): return Self.contains(haystack, needle)
            case (.array(let elements), _): return elements.contains(value)
            default: return false
            }
        case .exists: return true  // handled above
        }
    }

    /// -1, 0 or 1 for two numbers (exact) or two strings (by Unicode code points); `nil` otherwise.
    private static func order(_ lhs: JSONValue, _ rhs: JSONValue) -> Int? {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.string(let a), .string(let b)):
            // UTF-8 byte order is code point order.
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : (a.hasSameBytes(as: b) ? 0 : 1)
        default:
            return nil
        }
    }

    /// Byte-exact substring search.
    private static func contains(_ haystack: String, _ needle: String) -> Bool {
        let haystack = Array(haystack.utf8)
        let needle = Array(needle.utf8)
        guard !needle.isEmpty else { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }

    /// The denial of a call whose condition could not be decided (fail closed).
    func undecidedDenial() -> Decision {
        Decision(
            outcome: .deny,
            rule: .pointer(pointer),
            message: "\(path) is too long to check against the pattern \"\(pattern?.abbreviatedSource ?? "")\" (denied: fail closed)"
        )
    }

    /// A readable form for messages: `args.amount lte 100`.
    var summary: String {
        "\(path) \(op.rawValue) \(value)"
    }
}
