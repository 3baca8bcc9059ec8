/// A compiled regular expression from a policy (`op: regex`, schema `pattern`).
///
/// The syntax is ECMAScript's, as JSON Schema's `pattern` (see docs/policy.md for the dialect).
/// Matching is a search: the pattern may match anywhere in the string unless anchored with
/// `^...$`. It runs in time linear in the string (times the pattern's size): Warden's own
/// matcher simulates the pattern's automaton over the string's Unicode scalars and never
/// backtracks, so no pattern and no string can make a decision hang. What only a backtracking
/// engine can do (backreferences, lookaround, atomic groups, possessive quantifiers) is
/// refused when the policy is loaded.
public struct Pattern: Sendable {
    /// The pattern as written.
    public let source: String
    /// A likely mistake in the pattern (nested quantifiers such as `(a+)+`), for `policy check`;
    /// `nil` when none is seen.
    public let warning: String?
    /// The most steps one search may take (a step: one state of the pattern at one position
    /// of the string); past it the search gives up with ``Match/limitExceeded``.
    public let stepLimit: Int
    private let program: RegexProgram

    /// The default ``stepLimit``: 50 million steps, far more than a pattern of a few dozen
    /// states needs for the largest message Warden accepts.
    public static let defaultStepLimit = 50_000_000

    /// How a search ended.
    public enum Match: Sendable, Equatable {
        /// The pattern matches somewhere in the string.
        case match
        /// It matches nowhere.
        case noMatch
        /// The search took more than ``Pattern/stepLimit`` steps and was abandoned: neither
        /// answer is known, and a decision that needs one fails closed.
        case limitExceeded
    }

    /// Compiles `source`; throws ``PatternError`` when it is not a valid expression, or uses
    /// what Warden's linear-time matcher does not do.
    public init(_ source: String, stepLimit: Int = Pattern.defaultStepLimit) throws(PatternError) {
        do {
            let node = try RegexParser.parse(source)
            self.program = try RegexProgram.compile(node)
            self.warning = RegexLint.warning(for: node)
        } catch {
            throw PatternError(source: source, message: error.message, offset: error.offset)
        }
        self.source = source
        self.stepLimit = stepLimit
    }

    /// Searches `string` for a match.
    public func search(_ string: String) -> Match {
        search(string, general: false)
    }

    /// Searches with the general simulation even when the bit-parallel one applies (for tests).
    func search(_ string: String, general: Bool) -> Match {
        switch program.search(string, budget: stepLimit, general: general) {
        case .match: .match
        case .noMatch: .noMatch
        case .limitExceeded: .limitExceeded
        }
    }
}

/// A regular expression in a policy that does not compile, or that uses what Warden's
/// linear-time matcher does not do.
public struct PatternError: Error, Sendable, CustomStringConvertible {
    /// The pattern as written.
    public var source: String
    /// What is wrong with it, e.g. `unclosed group "("`.
    public var message: String
    /// Where, as a 0-based offset in Unicode scalars into the pattern.
    public var offset: Int

    public init(source: String, message: String, offset: Int) {
        self.source = source
        self.message = message
        self.offset = offset
    }

    public var description: String {
        "invalid regular expression \"\(Pattern.abbreviated(source))\": \(message) (at character \(offset + 1))"
    }
}

extension Pattern {
    /// `source` for a message: whole up to 80 characters, else its first 60 and "…".
    static func abbreviated(_ source: String) -> String {
        source.unicodeScalars.count <= 80 ? source : String(String.UnicodeScalarView(source.unicodeScalars.prefix(60))) + "…"
    }

    /// The pattern as written, shortened for messages when it is long.
    public var abbreviatedSource: String { Self.abbreviated(source) }
}
