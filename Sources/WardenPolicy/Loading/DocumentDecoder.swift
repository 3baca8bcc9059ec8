import Foundation
public import WardenJSON

/// Reads a configuration document (a policy, test cases, a gateway configuration) into typed
/// values, collecting every problem on the way, each with its position, pointer and suggestion.
///
/// Each accessor reports what is wrong with its node and returns `nil`, so decoding goes on
/// and the user sees all problems at once. Policy decoding lives in extensions of this type;
/// other modules add their own.
public struct DocumentDecoder {
    /// The file the document came from, for problem reports.
    public let file: String?
    let positions: [JSONPointer: JSONPosition]
    /// See ``Document/commaSplits``.
    let commaSplits: [JSONPointer: String]
    /// Strict decoding (policies) reports unknown keys; lenient decoding (a server's own
    /// `inputSchema`) ignores what it does not know.
    let strict: Bool
    /// Every problem found so far, in the order found.
    public private(set) var problems: [PolicyProblem] = []
    /// Things that load but are likely mistakes, in the order found.
    public private(set) var warnings: [PolicyProblem] = []

    /// A decoder for a document read from `file`, with the positions of its nodes.
    public init(
        file: String?,
        positions: [JSONPointer: JSONPosition],
        commaSplits: [JSONPointer: String] = [:],
        strict: Bool = true
    ) {
        self.file = file
        self.positions = positions
        self.commaSplits = commaSplits
        self.strict = strict
    }

    /// Records a problem. `message` should say where (` at /pointer`) when that helps.
    /// Lenient decoding records nothing: the offending node is left out.
    public mutating func report(_ message: String, at pointer: JSONPointer, suggestion: String? = nil) {
        guard strict else { return }
        problems.append(
            PolicyProblem(
                file: file,
                position: position(of: pointer),
                pointer: pointer,
                message: message,
                suggestion: suggestion
            ))
    }

    /// Records a warning: something that loads and is enforced as written, but is likely
    /// not what the author meant. Lenient decoding records nothing.
    public mutating func warn(_ message: String, at pointer: JSONPointer) {
        guard strict else { return }
        warnings.append(
            PolicyProblem(file: file, position: position(of: pointer), pointer: pointer, message: message, severity: .warning))
    }

    /// The position of `pointer`, or of its nearest ancestor that has one.
    private func position(of pointer: JSONPointer) -> JSONPosition? {
        var tokens = pointer.tokens
        while true {
            if let position = positions[JSONPointer(tokens: tokens)] { return position }
            if tokens.isEmpty { return nil }
            tokens.removeLast()
        }
    }

    // MARK: - Typed accessors

    /// The object at `pointer`, with unknown keys and missing required keys reported.
    public mutating func object(
        _ value: JSONValue,
        at pointer: JSONPointer,
        keys allowed: [String],
        required: [String] = []
    ) -> JSONObject? {
        guard let object = namedEntries(value, at: pointer) else { return nil }
        if strict {
            for key in object.keys where !allowed.contains(key) {
                let member = pointer.appending(key)
                if let previous = commaSplits[member] {
                    report(
                        "unknown key \"\(key)\" at \(describe(pointer)): in a YAML flow mapping {...} a comma ends the "
                            + "value before it, so this looks like the rest of that value; quote the string: \(previous)",
                        at: member
                    )
                    continue
                }
                report(
                    "unknown key \"\(key)\" at \(describe(pointer))",
                    at: member,
                    suggestion: Suggestion.closest(to: key, among: allowed)
                )
            }
        }
        for key in required where object[key] == nil {
            report("missing required key \"\(key)\" at \(describe(pointer))", at: pointer)
        }
        return object
    }

    /// The value `extract` finds in `value`, or a report that `value` is not `expected`.
    private mutating func typed<T>(
        _ value: JSONValue,
        at pointer: JSONPointer,
        expected: String,
        _ extract: (JSONValue) -> T?
    ) -> T? {
        if let typed = extract(value) { return typed }
        if pointer.tokens.isEmpty, value == .null {
            report("the document is empty: expected \(expected) at the top level", at: pointer)
        } else {
            report("expected \(expected) at \(describe(pointer)), found \(value.typeName)", at: pointer)
        }
        return nil
    }

    /// An object whose keys are names chosen by the user (tool names, schema properties).
    public mutating func namedEntries(_ value: JSONValue, at pointer: JSONPointer) -> JSONObject? {
        typed(value, at: pointer, expected: "an object", \.objectValue)
    }

    public mutating func string(_ value: JSONValue, at pointer: JSONPointer) -> String? {
        typed(value, at: pointer, expected: "a string", \.stringValue)
    }

    public mutating func bool(_ value: JSONValue, at pointer: JSONPointer) -> Bool? {
        typed(value, at: pointer, expected: "true or false", \.boolValue)
    }

    public mutating func array(_ value: JSONValue, at pointer: JSONPointer) -> [JSONValue]? {
        typed(value, at: pointer, expected: "a list", \.arrayValue)
    }

    public mutating func number(_ value: JSONValue, at pointer: JSONPointer) -> JSONNumber? {
        typed(value, at: pointer, expected: "a number", \.numberValue)
    }

    /// A whole number in `range`.
    public mutating func integer(_ value: JSONValue, at pointer: JSONPointer, in range: ClosedRange<Int>) -> Int? {
        guard let number = number(value, at: pointer) else { return nil }
        guard let integer = number.intValue, range.contains(integer) else {
            let bound = range.upperBound == .max ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            report("expected a whole number \(bound) at \(pointer), found \(number.text)", at: pointer)
            return nil
        }
        return integer
    }

    /// A positive number, exactly.
    mutating func positiveAmount(_ value: JSONValue, at pointer: JSONPointer) -> CounterAmount? {
        guard let number = number(value, at: pointer) else { return nil }
        guard let amount = CounterAmount(number), amount > .zero else {
            report("expected a number greater than 0 at \(pointer), found \(number.text)", at: pointer)
            return nil
        }
        return amount
    }

    /// One of `Choice`'s raw values, with a suggestion when it is misspelt.
    public mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ value: JSONValue,
        at pointer: JSONPointer,
        as _: Choice.Type = Choice.self
    ) -> Choice? where Choice.RawValue == String {
        guard let string = string(value, at: pointer) else { return nil }
        if let choice = Choice(rawValue: string) { return choice }
        let names = Choice.allCases.map(\.rawValue)
        report(
            "unknown value \"\(string)\" at \(pointer); expected one of \(names.joined(separator: ", "))",
            at: pointer,
            suggestion: Suggestion.closest(to: string, among: names)
        )
        return nil
    }

    /// A list of strings.
    public mutating func strings(_ value: JSONValue, at pointer: JSONPointer) -> [String]? {
        guard let array = array(value, at: pointer) else { return nil }
        return array.enumerated().compactMap { string($1, at: pointer.appending($0)) }
    }

    /// A `{string: string}` map (labels).
    public mutating func stringMap(_ value: JSONValue, at pointer: JSONPointer) -> [String: String]? {
        guard let object = namedEntries(value, at: pointer) else { return nil }
        var result: [String: String] = [:]
        for member in object.members {
            if let string = string(member.value, at: pointer.appending(member.key)) {
                result[member.key] = string
            }
        }
        return result
    }

    /// A compiled regular expression; a likely mistake in it is a warning.
    mutating func pattern(_ value: JSONValue, at pointer: JSONPointer) -> Pattern? {
        guard let source = string(value, at: pointer) else { return nil }
        do {
            let pattern = try Pattern(source)
            if let warning = pattern.warning {
                warn(
                    "the regular expression \"\(pattern.abbreviatedSource)\" at \(pointer) is likely a mistake: \(warning). Warden matches "
                        + "it in linear time, but backtracking engines (JavaScript, PCRE, Python) can take exponential time on it",
                    at: pointer)
            }
            return pattern
        } catch {
            report(
                "invalid regular expression \"\(Pattern.abbreviated(source))\" at \(pointer): \(error.message) (character \(error.offset + 1) of the pattern)",
                at: pointer)
            return nil
        }
    }

    /// A duration: a whole number of seconds, or `30s`, `10m`, `2h`, `1d`.
    public mutating func durationSeconds(_ value: JSONValue, at pointer: JSONPointer) -> Int? {
        if case .number = value { return integer(value, at: pointer, in: 1...Int(Int32.max)) }
        guard let text = string(value, at: pointer) else { return nil }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last.flatMap({ units[$0] }), let count = Int(text.dropLast()), count > 0,
            count <= Int(Int32.max) / unit
        {
            return count * unit
        }
        report("expected a duration like \"30s\", \"10m\", \"2h\" or \"1d\" at \(pointer), found \"\(text)\"", at: pointer)
        return nil
    }

    private func describe(_ pointer: JSONPointer) -> String {
        pointer.tokens.isEmpty ? "the top level" : pointer.description
    }
}
