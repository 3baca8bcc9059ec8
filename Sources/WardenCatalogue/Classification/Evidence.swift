/// One signal a classification rests on: where it was seen, what it points to, and the text
/// that showed it.
public struct Evidence: Sendable, Equatable {
    /// Where a signal comes from.
    public enum Source: String, Sendable {
        /// A word of the tool's name.
        case name
        /// The description (or title).
        case description
        /// An annotation: a claim of the server's.
        case annotation
        /// The input schema: a field's name, an enum value.
        case schema
    }

    public var source: Source
    /// The class the signal points to.
    public var toolClass: ToolClass
    /// What showed it: `delete`, `readOnlyHint: true`, `field amount`.
    public var text: String

    public init(_ source: Source, _ toolClass: ToolClass, _ text: String) {
        self.source = source
        self.toolClass = toolClass
        self.text = text
    }

    /// `name: delete`, as the rationale lists it.
    var summary: String { "\(source.rawValue) `\(text)`" }
}
