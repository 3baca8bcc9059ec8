/// A JSON Pointer (RFC 6901) such as `/tools/transfer/limits/0`.
///
/// Warden names every rule and every problem by the pointer of the policy node it comes from.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The unescaped reference tokens, outermost first. Empty for the whole document.
    public private(set) var tokens: [String]

    /// The pointer to the whole document (`""`).
    public static let root = JSONPointer(tokens: [])

    /// The string form, with `~` and `/` escaped as `~0` and `~1`. Kept beside the tokens:
    /// every audited decision names its rule by it.
    public private(set) var description: String

    public init(tokens: [String]) {
        self.tokens = tokens
        self.description = tokens.reduce(into: "") { Self.append($1, to: &$0) }
    }

    /// Parses the string form (`/a/b~1c`); `nil` unless it is empty or starts with `/`.
    public init?(_ string: String) {
        guard string.isEmpty || string.hasPrefix("/") else { return nil }
        self.init(
            tokens: string.isEmpty
                ? []
                : string.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
                    String($0).replacing("~1", with: "/").replacing("~0", with: "~")
                })
    }

    /// This pointer extended by an object key.
    public func appending(_ key: String) -> JSONPointer {
        var copy = self
        copy.tokens.append(key)
        Self.append(key, to: &copy.description)
        return copy
    }

    /// This pointer extended by an array index.
    public func appending(_ index: Int) -> JSONPointer {
        appending(String(index))
    }

    // Equal and hashed by their tokens alone; the string form follows from them.
    public static func == (lhs: JSONPointer, rhs: JSONPointer) -> Bool {
        lhs.tokens == rhs.tokens
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tokens)
    }

    /// Appends `token`'s part of the string form to `text`.
    private static func append(_ token: String, to text: inout String) {
        text.append("/")
        if token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
            text.append(token.replacing("~", with: "~0").replacing("/", with: "~1"))
        } else {
            text.append(token)
        }
    }
}
