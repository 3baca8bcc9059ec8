/// A JSON number, kept as the exact text it was written with.
///
/// Comparisons are exact decimal comparisons on that text, with no conversion to `Double`:
/// big integers beyond 2^53 and long fractions keep their value.
public struct JSONNumber: Sendable {
    /// The number as written, e.g. `-12.50e3`. Always valid JSON number syntax.
    public let text: String

    /// Wraps text already known to be valid JSON number syntax (the reader's job).
    /// - Precondition: `text` matches the JSON number grammar.
    public init(uncheckedText text: String) {
        self.text = text
    }

    /// Parses `text` as a JSON number; `nil` if it is not valid JSON number syntax.
    public init?(_ text: String) {
        guard JSONNumber.isValidSyntax(text.utf8) else { return nil }
        self.text = text
    }

    /// A number with the decimal spelling of `value`.
    public init(_ value: Int) {
        self.text = String(value)
    }
}
