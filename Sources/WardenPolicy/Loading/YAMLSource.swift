import WardenJSON
import Yams

/// Converts YAML into the JSON value model, with the YAML 1.2 core schema: only
/// `true`/`false` are booleans (`no` stays a string), only `null`/`~`/empty are null, and
/// numbers must be finite. Anchors and aliases are expanded, up to ``maxNodes`` nodes in all
/// (so a few hundred bytes of nested aliases, a "billion laughs", cannot make loading run for
/// ever); merge keys (`<<`) are not special.
enum YAMLSource {
    /// The most nodes a document may have once its aliases are expanded.
    static let maxNodes = 100_000

    static func read(_ bytes: [UInt8], file: String?) throws(PolicyLoadError) -> Document {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PolicyLoadError(problems: [
                PolicyProblem(file: file, pointer: .root, message: "invalid YAML: the file is not valid UTF-8")
            ])
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text, coreSchema)
        } catch {
            throw PolicyLoadError(problems: [problem(for: error, file: file)])
        }
        var converter = Converter(file: file)
        let value = node.map { converter.convert($0, at: .root) } ?? .null
        if converter.nodeCount > maxNodes {
            throw PolicyLoadError(problems: [
                PolicyProblem(
                    file: file,
                    position: node?.mark.map { JSONPosition(line: $0.line, column: $0.column) },
                    pointer: .root,
                    message: "the YAML document has more than \(maxNodes) nodes once its aliases are expanded; "
                        + "Warden refuses it (aliases nested inside aliases multiply: a few lines can stand for billions of nodes)"
                )
            ])
        }
        guard converter.problems.isEmpty else { throw PolicyLoadError(problems: converter.problems) }
        return Document(value: value, positions: converter.positions, commaSplits: converter.commaSplits)
    }

    // The expressions are constant and valid; a failure here is a programming error.
    // swift-format-ignore: NeverUseForceTry
    private static let coreSchema: Resolver = try! Resolver.basic
        .appending(.null, "^(?:~|null|Null|NULL|)$")
        .appending(.bool, "^(?:true|True|TRUE|false|False|FALSE)$")
        .appending(.int, "^[-+]?[0-9]+$")
        .appending(.float, "^[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\\.(?:inf|Inf|INF|nan|NaN|NAN)$")

    private static func problem(for error: any Error, file: String?) -> PolicyProblem {
        switch error {
        case YamlError.scanner(_, let problem, let mark, _),
            YamlError.parser(_, let problem, let mark, _),
            YamlError.composer(_, let problem, let mark, _):
            return PolicyProblem(
                file: file,
                position: JSONPosition(line: mark.line, column: mark.column),
                pointer: .root,
                message: "invalid YAML: \(problem)"
            )
        case YamlError.duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return PolicyProblem(
                file: file,
                position: JSONPosition(line: context.mark.line, column: context.mark.column),
                pointer: .root,
                message: "invalid YAML: duplicate key \(keys)"
            )
        default:
            return PolicyProblem(file: file, pointer: .root, message: "invalid YAML")
        }
    }

    private struct Converter {
        let file: String?
        var positions: [JSONPointer: JSONPosition] = [:]
        var problems: [PolicyProblem] = []
        /// Nodes converted so far; past ``YAMLSource/maxNodes`` conversion stops.
        var nodeCount = 0
        /// See ``Document/commaSplits``.
        var commaSplits: [JSONPointer: String] = [:]

        mutating func convert(_ node: Node, at pointer: JSONPointer) -> JSONValue {
            nodeCount += 1
            guard nodeCount <= YAMLSource.maxNodes else { return .null }
            if let mark = node.mark, positions[pointer] == nil {
                positions[pointer] = JSONPosition(line: mark.line, column: mark.column)
            }
            switch node {
            case .scalar(let scalar):
                // Quoted and block scalars are strings; plain ones are typed by the core schema.
                guard scalar.style == .plain || scalar.style == .any else { return .string(scalar.string) }
                return convert(scalar.string, tag: node.tag.rawValue, at: pointer, mark: node.mark)
            case .sequence(let sequence):
                return .array(sequence.enumerated().map { convert($1, at: pointer.appending($0)) })
            case .mapping(let mapping):
                var members: [JSONObject.Member] = []
                var seen: Set<ExactName> = []
                var previous: (key: String, value: Node)?
                for (keyNode, valueNode) in mapping {
                    defer {
                        if case .scalar(let keyScalar) = keyNode { previous = (keyScalar.string, valueNode) } else { previous = nil }
                    }
                    guard case .scalar(let keyScalar) = keyNode else {
                        report("a mapping key must be a plain string", at: pointer, mark: keyNode.mark)
                        continue
                    }
                    let key = keyScalar.string
                    let memberPointer = pointer.appending(key)
                    if let mark = keyNode.mark { positions[memberPointer] = JSONPosition(line: mark.line, column: mark.column) }
                    if let previous, let split = Self.commaSplit(previous: previous, key: keyNode, value: valueNode) {
                        commaSplits[memberPointer] = split
                    }
                    guard seen.insert(ExactName(key)).inserted else {
                        report("duplicate key \"\(key)\" at \(pointer)", at: memberPointer, mark: keyNode.mark)
                        continue
                    }
                    members.append(JSONObject.Member(key: key, value: convert(valueNode, at: memberPointer)))
                }
                return .object(JSONObject(members))
            case .alias:
                report("unresolved YAML alias", at: pointer, mark: node.mark)
                return .null
            }
        }

        /// In a flow mapping, a member `key` with no value after a member whose value is a
        /// plain string looks like the rest of that string, cut at a comma: `{on_deny: too
        /// big, try again}`. Returns the previous member written as intended, quoted.
        ///
        /// The key on the same line as the previous value tells a flow mapping (a block
        /// mapping has one key a line; Yams does not report a mapping's style reliably).
        static func commaSplit(previous: (key: String, value: Node), key: Node, value: Node) -> String? {
            guard let keyLine = key.mark?.line, keyLine == previous.value.mark?.line,
                case .scalar(let keyScalar) = key, keyScalar.style == .plain || keyScalar.style == .any,
                case .scalar(let valueScalar) = value, valueScalar.string.isEmpty, valueScalar.style == .plain || valueScalar.style == .any,
                case .scalar(let previousScalar) = previous.value, previousScalar.style == .plain || previousScalar.style == .any,
                !previousScalar.string.isEmpty
            else { return nil }
            let text = previousScalar.string + ", " + keyScalar.string
            var escaped = ""
            for character in text {
                if character == "\\" || character == "\"" { escaped.append("\\") }
                escaped.append(character)
            }
            return "\(previous.key): \"\(escaped)\""
        }

        private mutating func convert(_ text: String, tag: String, at pointer: JSONPointer, mark: Mark?) -> JSONValue {
            switch Tag.Name(rawValue: tag) {
            case .null:
                return .null
            case .bool:
                return .bool(text.lowercased() == "true")
            case .int, .float:
                guard let number = Self.jsonNumber(fromYAML: text) else {
                    report("\(text) is not a finite number at \(pointer)", at: pointer, mark: mark)
                    return .null
                }
                return .number(number)
            default:
                return .string(text)
            }
        }

        private mutating func report(_ message: String, at pointer: JSONPointer, mark: Mark?) {
            problems.append(
                PolicyProblem(
                    file: file,
                    position: mark.map { JSONPosition(line: $0.line, column: $0.column) },
                    pointer: pointer,
                    message: message
                ))
        }

        /// Rewrites a YAML core-schema number (`+1`, `007`, `.5`, `1.`) in JSON syntax,
        /// keeping its exact value; `nil` for infinities and NaN.
        static func jsonNumber(fromYAML text: String) -> JSONNumber? {
            var rest = Substring(text)
            var sign = ""
            if let first = rest.first, first == "+" || first == "-" {
                if first == "-" { sign = "-" }
                rest = rest.dropFirst()
            }
            var exponent = ""
            if let e = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                exponent = String(rest[e...])
                rest = rest[..<e]
            }
            let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            var integer = String(parts[0].drop { $0 == "0" })
            if integer.isEmpty { integer = "0" }
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            let text = sign + integer + (fraction.isEmpty ? "" : "." + fraction) + exponent
            return JSONNumber(text)
        }
    }
}
