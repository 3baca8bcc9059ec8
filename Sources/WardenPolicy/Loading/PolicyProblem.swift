public import WardenJSON

/// One problem found while loading a policy, with where it is and what to do about it.
///
/// Descriptions never quote argument values or secrets, only keys, types and policy text.
public struct PolicyProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file the policy came from, if it came from one.
    public var file: String?
    /// The line and column of the offending node, when the source has them.
    public var position: JSONPosition?
    /// The offending node.
    public var pointer: JSONPointer
    /// What is wrong, e.g. `unknown key "limts" at /tools/x`.
    public var message: String
    /// The likely intended spelling, for unknown keys and values.
    public var suggestion: String?

    public init(
        file: String? = nil,
        position: JSONPosition? = nil,
        pointer: JSONPointer,
        message: String,
        suggestion: String? = nil
    ) {
        self.file = file
        self.position = position
        self.pointer = pointer
        self.message = message
        self.suggestion = suggestion
    }

    /// `file:line:column: message — did you mean "x"?`
    public var description: String {
        var text = ""
        if let file { text += file + ":" }
        if let position { text += "\(position.line):\(position.column):" }
        if !text.isEmpty { text += " " }
        text += message
        if let suggestion { text += " — did you mean \"\(suggestion)\"?" }
        return text
    }
}

/// A policy (or test-case file) that could not be loaded: every problem found, not just the first.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    /// The problems, in document order.
    public var problems: [PolicyProblem]

    public init(problems: [PolicyProblem]) {
        self.problems = problems
    }

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
