public import WardenJSON

/// Argument values to hide where arguments are shown (to approvers, in the audit log): each
/// path (`args.card.number`) has its value replaced by `[redacted]`.
public struct ArgumentRedaction: Sendable, Equatable {
    /// The paths, each `args.` followed by object keys.
    public var paths: [String]

    /// The text that replaces a redacted value.
    public static let redactedValue = "[redacted]"

    public init(paths: [String] = []) {
        self.paths = paths
    }

    /// Whether `path` can be redacted: `args.` and at least one key.
    public static func isArgumentPath(_ path: String) -> Bool {
        path.hasPrefix("args.") && path.count > 5
    }

    /// `arguments` with the value at each path replaced by ``redactedValue``.
    public func applied(to arguments: JSONObject) -> JSONObject {
        paths.reduce(arguments) { arguments, path in
            let keys = path.split(separator: ".").map(String.init)
            guard keys.first == "args", keys.count > 1 else { return arguments }
            return Self.replacing(Array(keys.dropFirst()), in: arguments)
        }
    }

    private static func replacing(_ keys: [String], in object: JSONObject) -> JSONObject {
        guard let key = keys.first, let value = object[key] else { return object }
        var object = object
        if keys.count == 1 {
            object.set(key, to: .string(redactedValue))
        } else if case .object(let inner) = value {
            object.set(key, to: .object(replacing(Array(keys.dropFirst()), in: inner)))
        }
        return object
    }
}
