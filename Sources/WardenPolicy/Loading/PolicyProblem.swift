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
    /// An error (the document does not load) or a warning (it loads, but is likely a mistake).
    public var severity: Severity

    /// How bad a problem is.
    public enum Severity: String, Sendable, Hashable {
        /// The document does not load.
        case error
        /// The document loads and is enforced as written, but is likely not what was meant.
        case warning
    }

    public init(
        file: String? = nil,
        position: JSONPosition? = nil,
        pointer: JSONPointer,
        message: String,
        suggestion: String? = nil,
        severity: Severity = .error
    ) {
        self.file = file
        self.position = position
        self.pointer = pointer
        self.message = message
        self.suggestion = suggestion
        self.severity = severity
    }

    /// `problems` sorted by position: each file's together (files in the order they first
    /// appear), by line then column; problems without a position first. Ties keep their order.
    public static func inDocumentOrder(_ problems: [PolicyProblem]) -> [PolicyProblem] {
        var fileRank: [String?: Int] = [:]
        for problem in problems where fileRank[problem.file] == nil {
            fileRank[problem.file] = fileRank.count
        }
        return problems.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            let keyX = (fileRank[x.file]!, x.position?.line ?? 0, x.position?.column ?? 0, a.offset)
            let keyY = (fileRank[y.file]!, y.position?.line ?? 0, y.position?.column ?? 0, b.offset)
            return keyX < keyY
        }.map(\.element)
    }

    /// `file:line:column: message — did you mean "x"?`; a warning says `warning: ` before its message.
    public var description: String {
        var text = ""
        if let file { text += file + ":" }
        if let position { text += "\(position.line):\(position.column):" }
        if !text.isEmpty { text += " " }
        if severity == .warning { text += "warning: " }
        text += message
        if let suggestion { text += " — did you mean \"\(suggestion)\"?" }
        return text
    }
}

/// A policy (or test-case file) that could not be loaded: every problem found, not just the first.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    /// The problems, in document order (by line, then column; each file's in turn).
    public var problems: [PolicyProblem]
    /// Warnings found along the way, in the same order.
    public var warnings: [PolicyProblem]

    public init(problems: [PolicyProblem], warnings: [PolicyProblem] = []) {
        self.problems = PolicyProblem.inDocumentOrder(problems)
        self.warnings = PolicyProblem.inDocumentOrder(warnings)
    }

    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
