/// A JSON Pointer (RFC 6901) such as `/tools/transfer/limits/0`.
///
/// Warden names every rule and every problem by the pointer of the policy node it comes from.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens, outermost first. Empty for the whole document.
    public private(set) var tokens: [String]

    /// The pointer to the whole document (`""`).
    public static let root = JSONPointer(tokens: [])

    public init(tokens: [String]) {
        self.tokens = tokens
    }

    /// Parses the string form (`/a/b~1c`); `nil` unless it is empty or starts with `/`.
    public init?(_ string: String) {
        if string.isEmpty {
            self.tokens = []
            return
        }
        guard string.hasPrefix("/") else { return nil }
        self.tokens = string.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacing("~1", with: "/").replacing("~0", with: "~")
        }
    }

    /// This pointer extended by an object key.
    public func appending(_ key: String) -> JSONPointer {
        var copy = self
        copy.tokens.append(key)
        return copy
    }

    /// This pointer extended by an array index.
    public func appending(_ index: Int) -> JSONPointer {
        appending(String(index))
    }

    /// The string form, with `~` and `/` escaped as `~0` and `~1`.
    public var description: String {
        var result = ""
        for token in tokens {
            result.append("/")
            if token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
                result.append(token.replacing("~", with: "~0").replacing("/", with: "~1"))
            } else {
                result.append(token)
            }
        }
        return result
    }
}
