import Foundation

/// A compiled regular expression from a policy (`op: regex`, schema `pattern`).
///
/// Syntax is ICU's (close to JavaScript's). Matching is a search: the pattern may match
/// anywhere in the string unless anchored with `^...$`, as in JSON Schema.
public struct Pattern: Sendable {
    /// The pattern as written.
    public let source: String
    private let expression: NSRegularExpression

    /// Compiles `source`; throws ``PatternError`` when it is not a valid expression.
    public init(_ source: String) throws(PatternError) {
        do {
            self.expression = try NSRegularExpression(pattern: source)
        } catch {
            throw PatternError(source: source)
        }
        self.source = source
    }

    /// Whether the pattern matches somewhere in `string`.
    public func matches(_ string: String) -> Bool {
        let range = NSRange(location: 0, length: string.utf16.count)
        return expression.rangeOfFirstMatch(in: string, options: [], range: range).location != NSNotFound
    }
}

/// A regular expression in a policy that does not compile.
public struct PatternError: Error, Sendable, CustomStringConvertible {
    /// The pattern as written.
    public var source: String

    public var description: String { "invalid regular expression \"\(source)\"" }
}
