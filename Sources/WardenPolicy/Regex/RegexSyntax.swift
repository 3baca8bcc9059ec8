/// The syntax tree of a pattern, and its parser.
///
/// The dialect is ECMAScript's (JSON Schema's `pattern`), without what a linear-time matcher
/// cannot do: backreferences, lookaround, atomic groups and possessive quantifiers are refused.
indirect enum RegexNode: Sendable, Equatable {
    /// Matches the empty string.
    case empty
    /// One scalar.
    case scalar(UInt32)
    /// One scalar of a set (`[a-z]`, `\d`, `.`).
    case set(ScalarSet)
    /// A zero-width assertion.
    case assertion(RegexAssertion)
    /// Each in turn.
    case concatenation([RegexNode])
    /// Any one of them.
    case alternation([RegexNode])
    /// `node{min,max}`; `max` is `nil` for no upper bound.
    case repetition(RegexNode, min: Int, max: Int?)
}

/// A zero-width assertion.
enum RegexAssertion: UInt8, Sendable {
    /// `^` or `\A`: the start of the string.
    case start
    /// `$` or `\z`: the end of the string.
    case end
    /// `\b`.
    case wordBoundary
    /// `\B`.
    case notWordBoundary
}

/// Why a pattern cannot be compiled.
struct RegexSyntaxError: Error, Sendable {
    /// Where, as a 0-based scalar offset into the pattern.
    var offset: Int
    /// What is wrong.
    var message: String
}

/// Limits of compiled patterns.
enum RegexLimits {
    /// The largest count in `{n}`, `{n,}`, `{n,m}`.
    static let maxRepetition = 1000
    /// The most instructions a compiled pattern may have.
    static let maxProgramSize = 20_000
    /// How deep groups may nest.
    static let maxNesting = 100
    /// The longest pattern, in Unicode scalars.
    static let maxLength = 10_000
}

/// A recursive-descent parser over the pattern's scalars.
struct RegexParser {
    private let scalars: [UInt32]
    private var index = 0
    private var depth = 0

    init(_ source: String) {
        scalars = source.unicodeScalars.map(\.value)
    }

    /// Parses the whole pattern.
    static func parse(_ source: String) throws(RegexSyntaxError) -> RegexNode {
        let length = source.unicodeScalars.count
        if length > RegexLimits.maxLength {
            throw RegexSyntaxError(
                offset: 0, message: "the pattern is \(length) characters long; patterns go up to \(RegexLimits.maxLength)")
        }
        var parser = RegexParser(source)
        let node = try parser.parseAlternation()
        if parser.index < parser.scalars.count {
            // Only an unmatched ")" stops an alternation before the end.
            throw RegexSyntaxError(offset: parser.index, message: "unmatched \")\"")
        }
        return node
    }

    // MARK: - Structure

    private var atEnd: Bool { index >= scalars.count }

    private func peek(_ ahead: Int = 0) -> UInt32? {
        index + ahead < scalars.count ? scalars[index + ahead] : nil
    }

    private func isNext(_ text: String) -> Bool {
        var offset = 0
        for scalar in text.unicodeScalars {
            guard peek(offset) == scalar.value else { return false }
            offset += 1
        }
        return true
    }

    private mutating func parseAlternation() throws(RegexSyntaxError) -> RegexNode {
        var branches = [try parseConcatenation()]
        while peek() == ascii("|") {
            index += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcatenation() throws(RegexSyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        while let next = peek(), next != ascii("|"), next != ascii(")") {
            let start = index
            let atom = try parseAtom()
            items.append(try parseQuantifiers(atom, atomStart: start))
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concatenation(items)
        }
    }

    private mutating func parseQuantifiers(_ atom: RegexNode, atomStart: Int) throws(RegexSyntaxError) -> RegexNode {
        var node = atom
        var quantified = false
        while let next = peek() {
            let start = index
            var bounds: (min: Int, max: Int?)
            switch next {
            case ascii("*"): bounds = (0, nil); index += 1
            case ascii("+"): bounds = (1, nil); index += 1
            case ascii("?"): bounds = (0, 1); index += 1
            case ascii("{"):
                guard let counted = try parseCountedRepetition() else {
                    throw RegexSyntaxError(
                        offset: start, message: "\"{\" starts a repetition {n}, {n,} or {n,m}; write \\{ for a literal \"{\"")
                }
                bounds = counted
            default:
                return node
            }
            if quantified {
                throw RegexSyntaxError(offset: start, message: "a quantifier cannot follow another quantifier")
            }
            if peek() == ascii("?") {
                index += 1  // lazy: the same for a yes/no match
            } else if peek() == ascii("+") {
                throw RegexSyntaxError(
                    offset: start,
                    message: "possessive quantifiers (\(text(start..<index + 1))) are not supported: Warden's matcher runs in linear time and needs none")
            }
            node = .repetition(node, min: bounds.min, max: bounds.max)
            quantified = true
        }
        return node
    }

    /// `{n}`, `{n,}` or `{n,m}` at the current position; `nil` (nothing consumed) if it is not one.
    private mutating func parseCountedRepetition() throws(RegexSyntaxError) -> (min: Int, max: Int?)? {
        let start = index
        index += 1
        guard let lower = parseNumber() else {
            index = start
            return nil
        }
        var upper: Int? = lower
        if peek() == ascii(",") {
            index += 1
            upper = peek() == ascii("}") ? nil : parseNumber()
            if upper == nil, peek() != ascii("}") {
                index = start
                return nil
            }
        }
        guard peek() == ascii("}") else {
            index = start
            return nil
        }
        index += 1
        let limit = RegexLimits.maxRepetition
        if lower > limit || (upper ?? 0) > limit {
            throw RegexSyntaxError(
                offset: start, message: "the repetition \(text(start..<index)) is too large: counts go up to \(limit)")
        }
        if let upper, upper < lower {
            throw RegexSyntaxError(offset: start, message: "the repetition \(text(start..<index)) has its bounds out of order")
        }
        return (lower, upper)
    }

    /// A decimal number; large values saturate (they are refused as too large anyway).
    private mutating func parseNumber() -> Int? {
        var value: Int?
        while let digit = peek(), digit >= ascii("0"), digit <= ascii("9") {
            value = min((value ?? 0) * 10 + Int(digit - ascii("0")), 1_000_000)
            index += 1
        }
        return value
    }

    private mutating func parseAtom() throws(RegexSyntaxError) -> RegexNode {
        let start = index
        let scalar = scalars[index]
        index += 1
        switch scalar {
        case ascii("("):
            return try parseGroup(start: start)
        case ascii("["):
            return .set(try parseClass(start: start))
        case ascii("."):
            return .set(.dot)
        case ascii("^"):
            return .assertion(.start)
        case ascii("$"):
            return .assertion(.end)
        case ascii("\\"):
            return try parseEscape(start: start)
        case ascii("*"), ascii("+"), ascii("?"):
            throw RegexSyntaxError(offset: start, message: "\"\(text(start..<index))\" has nothing to repeat")
        case ascii("{"):
            index = start
            if try parseCountedRepetition() != nil {
                throw RegexSyntaxError(offset: start, message: "\"\(text(start..<index))\" has nothing to repeat")
            }
            throw RegexSyntaxError(offset: start, message: "\"{\" starts a repetition {n}, {n,} or {n,m}; write \\{ for a literal \"{\"")
        default:
            return .scalar(scalar)
        }
    }

    private mutating func parseGroup(start: Int) throws(RegexSyntaxError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        if depth > RegexLimits.maxNesting {
            throw RegexSyntaxError(offset: start, message: "groups are nested more than \(RegexLimits.maxNesting) deep")
        }
        if peek() == ascii("?") {
            let unsupported: [(prefix: String, what: String)] = [
                ("?=", "lookahead (?=...)"), ("?!", "negative lookahead (?!...)"), ("?<=", "lookbehind (?<=...)"),
                ("?<!", "negative lookbehind (?<!...)"), ("?>", "atomic groups (?>...)"),
            ]
            for (prefix, what) in unsupported where isNext(prefix) {
                throw RegexSyntaxError(
                    offset: start, message: "\(what) is not supported: Warden's matcher runs in linear time, which lookaround and atomic groups rule out")
            }
            if isNext("?:") {
                index += 2
            } else if isNext("?<") {
                index += 2
                let nameStart = index
                while let next = peek(), next != ascii(">") {
                    guard isNameScalar(next, first: index == nameStart) else {
                        throw RegexSyntaxError(offset: start, message: "invalid group name in \"\(text(start..<index + 1))\"")
                    }
                    index += 1
                }
                guard peek() == ascii(">"), index > nameStart else {
                    throw RegexSyntaxError(offset: start, message: "invalid group name in \"\(text(start..<index))\"")
                }
                index += 1
            } else if isNext("?#") {
                throw RegexSyntaxError(offset: start, message: "comments (?#...) are not supported")
            } else {
                throw RegexSyntaxError(
                    offset: start,
                    message: "\"\(text(start..<min(index + 2, scalars.count)))\" is not supported: inline flags and other group forms are not; groups are (...), (?:...) and (?<name>...)")
            }
        }
        let inner = try parseAlternation()
        guard peek() == ascii(")") else {
            throw RegexSyntaxError(offset: start, message: "unclosed group \"(\"")
        }
        index += 1
        return inner
    }

    private func isNameScalar(_ scalar: UInt32, first: Bool) -> Bool {
        ScalarSet.isWordCharacter(scalar) && !(first && scalar >= ascii("0") && scalar <= ascii("9"))
    }

    // MARK: - Escapes

    /// What an escape stands for.
    private enum Escape {
        case scalar(UInt32)
        case set(ScalarSet)
        case assertion(RegexAssertion)
        /// `\Q...\E`: literal text.
        case quoted([UInt32])
    }

    private mutating func parseEscape(start: Int) throws(RegexSyntaxError) -> RegexNode {
        switch try parseEscapeBody(start: start, inClass: false) {
        case .scalar(let scalar): return .scalar(scalar)
        case .set(let set): return .set(set)
        case .assertion(let assertion): return .assertion(assertion)
        case .quoted(let text):
            switch text.count {
            case 0: return .empty
            case 1: return .scalar(text[0])
            default: return .concatenation(text.map(RegexNode.scalar))
            }
        }
    }

    /// The escape after a backslash at `start` (the backslash is consumed).
    private mutating func parseEscapeBody(start: Int, inClass: Bool) throws(RegexSyntaxError) -> Escape {
        guard let scalar = peek() else {
            throw RegexSyntaxError(offset: start, message: "the pattern ends with a lone backslash")
        }
        index += 1
        switch scalar {
        case ascii("d"): return .set(.digits)
        case ascii("D"): return .set(negated(.digits))
        case ascii("w"): return .set(.wordCharacters)
        case ascii("W"): return .set(negated(.wordCharacters))
        case ascii("s"): return .set(.whitespace)
        case ascii("S"): return .set(negated(.whitespace))
        case ascii("b"): return inClass ? .scalar(0x08) : .assertion(.wordBoundary)
        case ascii("B") where !inClass: return .assertion(.notWordBoundary)
        case ascii("A") where !inClass: return .assertion(.start)
        case ascii("z") where !inClass: return .assertion(.end)
        case ascii("n"): return .scalar(0x0A)
        case ascii("r"): return .scalar(0x0D)
        case ascii("t"): return .scalar(0x09)
        case ascii("f"): return .scalar(0x0C)
        case ascii("v"): return .scalar(0x0B)
        case ascii("a"): return .scalar(0x07)
        case ascii("e"): return .scalar(0x1B)
        case ascii("0"):
            // \0, or ICU's octal \0ooo.
            var value: UInt32 = 0
            var digits = 0
            while digits < 3, let next = peek(), next >= ascii("0"), next <= ascii("7") {
                value = value * 8 + (next - ascii("0"))
                index += 1
                digits += 1
            }
            return .scalar(value)
        case ascii("1")...ascii("9"):
            throw RegexSyntaxError(
                offset: start,
                message: "backreferences (\(text(start..<index))) are not supported: Warden's matcher runs in linear time, which backreferences rule out")
        case ascii("k") where peek() == ascii("<"):
            throw RegexSyntaxError(
                offset: start,
                message: "backreferences (\\k<name>) are not supported: Warden's matcher runs in linear time, which backreferences rule out")
        case ascii("x"):
            return .scalar(try parseHexEscape(start: start, fixedDigits: 2))
        case ascii("u"):
            // A UTF-16 surrogate pair written as two escapes (`\uD83D\uDE00`) is one character.
            if let high = peekHex(at: index, digits: 4), (0xD800...0xDBFF).contains(high),
                peek(4) == ascii("\\"), peek(5) == ascii("u"), let low = peekHex(at: index + 6, digits: 4),
                (0xDC00...0xDFFF).contains(low)
            {
                index += 10
                return .scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            return .scalar(try parseHexEscape(start: start, fixedDigits: 4))
        case ascii("U"):
            return .scalar(try parseHexEscape(start: start, fixedDigits: 8))
        case ascii("c"):
            guard let letter = peek(), (ascii("a")...ascii("z")).contains(letter | 0x20) else {
                throw RegexSyntaxError(offset: start, message: "\\c must be followed by a letter")
            }
            index += 1
            return .scalar(letter % 32)
        case ascii("p"), ascii("P"):
            return .set(try parseProperty(start: start, negated: scalar == ascii("P")))
        case ascii("Q"):
            var text: [UInt32] = []
            while !atEnd, !isNext("\\E") {
                text.append(scalars[index])
                index += 1
            }
            if isNext("\\E") { index += 2 }
            if inClass {
                throw RegexSyntaxError(offset: start, message: "\\Q...\\E is not supported inside a character class")
            }
            return .quoted(text)
        default:
            let isLetterOrDigit =
                (scalar >= ascii("a") && scalar <= ascii("z")) || (scalar >= ascii("A") && scalar <= ascii("Z"))
                || (scalar >= ascii("0") && scalar <= ascii("9"))
            if isLetterOrDigit {
                throw RegexSyntaxError(offset: start, message: "unknown escape \"\(text(start..<index))\"")
            }
            return .scalar(scalar)  // \. \\ \/ \- \[ and every other non-alphanumeric
        }
    }

    private func negated(_ set: ScalarSet) -> ScalarSet {
        var copy = set
        copy.negate()
        copy.seal()
        return copy
    }

    /// `\xHH`, `\uHHHH`, `\UHHHHHHHH`, or any of them with braces: `\x{H...}`, `\u{H...}`.
    private mutating func parseHexEscape(start: Int, fixedDigits: Int) throws(RegexSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        if peek() == ascii("{") {
            index += 1
            var digits = 0
            while let next = peek(), let digit = hexValue(next) {
                value = min(value * 16 + digit, 0x110000)
                index += 1
                digits += 1
            }
            guard digits > 0, peek() == ascii("}") else {
                throw RegexSyntaxError(offset: start, message: "invalid escape \"\(text(start..<index))\": expected hex digits and \"}\"")
            }
            index += 1
        } else {
            for _ in 0..<fixedDigits {
                guard let next = peek(), let digit = hexValue(next) else {
                    throw RegexSyntaxError(
                        offset: start, message: "invalid escape \"\(text(start..<index))\": expected \(fixedDigits) hex digits")
                }
                value = value * 16 + digit
                index += 1
            }
        }
        guard Unicode.Scalar(value) != nil else {
            throw RegexSyntaxError(offset: start, message: "\"\(text(start..<index))\" is not a Unicode scalar value")
        }
        return value
    }

    /// The value of `digits` hex digits at `offset`, if they are there.
    private func peekHex(at offset: Int, digits: Int) -> UInt32? {
        guard offset + digits <= scalars.count else { return nil }
        var value: UInt32 = 0
        for position in offset..<offset + digits {
            guard let digit = hexValue(scalars[position]) else { return nil }
            value = value * 16 + digit
        }
        return value
    }

    private func hexValue(_ scalar: UInt32) -> UInt32? {
        switch scalar {
        case ascii("0")...ascii("9"): scalar - ascii("0")
        case ascii("a")...ascii("f"): scalar - ascii("a") + 10
        case ascii("A")...ascii("F"): scalar - ascii("A") + 10
        default: nil
        }
    }

    /// `\p{L}`, `\p{Lu}`, `\p{Letter}`, `\pL`; `\P` for the complement.
    private mutating func parseProperty(start: Int, negated: Bool) throws(RegexSyntaxError) -> ScalarSet {
        var name = ""
        if peek() == ascii("{") {
            index += 1
            while let next = peek(), next != ascii("}") {
                name.unicodeScalars.append(Unicode.Scalar(next)!)
                index += 1
            }
            guard peek() == ascii("}") else {
                throw RegexSyntaxError(offset: start, message: "unclosed \"\(text(start..<index))\"")
            }
            index += 1
        } else if let next = peek() {
            name.unicodeScalars.append(Unicode.Scalar(next)!)
            index += 1
        }
        guard let categories = ScalarSet.categories(named: name) else {
            throw RegexSyntaxError(
                offset: start,
                message: "unsupported property \"\(text(start..<index))\": \\p{...} takes a general category such as L, Lu, N, Nd, P or Letter")
        }
        return ScalarSet(categories: categories, negated: negated)
    }

    // MARK: - Classes

    private mutating func parseClass(start: Int) throws(RegexSyntaxError) -> ScalarSet {
        var set = ScalarSet()
        let negate = peek() == ascii("^")
        if negate { index += 1 }
        if peek() == ascii("]") {
            throw RegexSyntaxError(
                offset: start, message: "empty character class \"\(text(start..<index + 1))\"; write \\] for a literal \"]\"")
        }
        while true {
            guard let scalar = peek() else {
                throw RegexSyntaxError(offset: start, message: "unclosed character class \"[\"")
            }
            if scalar == ascii("]") {
                index += 1
                break
            }
            let itemStart = index
            let item = try parseClassItem()
            // A range `a-z` (a "-" first, last, or next to a set is literal).
            if case .scalar(let lower) = item, peek() == ascii("-"), let after = peek(1), after != ascii("]") {
                index += 1
                let upperItem = try parseClassItem()
                guard case .scalar(let upper) = upperItem else {
                    throw RegexSyntaxError(
                        offset: itemStart, message: "invalid range \"\(text(itemStart..<index))\" in a character class; write \\- for a literal \"-\"")
                }
                guard lower <= upper else {
                    throw RegexSyntaxError(
                        offset: itemStart, message: "range out of order \"\(text(itemStart..<index))\" in a character class")
                }
                set.insert(lower...upper)
                continue
            }
            switch item {
            case .scalar(let value):
                set.insert(value...value)
            case .set(let inner):
                if peek() == ascii("-"), let after = peek(1), after != ascii("]") {
                    throw RegexSyntaxError(
                        offset: itemStart, message: "invalid range \"\(text(itemStart..<index + 2))\" in a character class; write \\- for a literal \"-\"")
                }
                set.formUnion(inner)
            }
        }
        if negate { set.negate() }
        set.seal()
        return set
    }

    private enum ClassItem {
        case scalar(UInt32)
        case set(ScalarSet)
    }

    private mutating func parseClassItem() throws(RegexSyntaxError) -> ClassItem {
        let start = index
        let scalar = scalars[index]
        index += 1
        switch scalar {
        case ascii("\\"):
            switch try parseEscapeBody(start: start, inClass: true) {
            case .scalar(let value): return .scalar(value)
            case .set(let set): return .set(set)
            case .assertion, .quoted:
                throw RegexSyntaxError(offset: start, message: "\"\(text(start..<index))\" cannot be used in a character class")
            }
        case ascii("["):
            throw RegexSyntaxError(
                offset: start,
                message: "nested character classes are not supported; write \\[ for a literal \"[\" in a class")
        case ascii("&") where peek() == ascii("&"):
            throw RegexSyntaxError(
                offset: start,
                message: "set operations (&&) in a character class are not supported; write \\& for a literal \"&\"")
        default:
            return .scalar(scalar)
        }
    }

    // MARK: - Text

    /// The pattern text in `range` (clamped), for messages.
    private func text(_ range: Range<Int>) -> String {
        var result = ""
        for value in scalars[max(0, range.lowerBound)..<min(range.upperBound, scalars.count)] {
            result.unicodeScalars.append(Unicode.Scalar(value)!)
        }
        return result
    }
}

@inline(__always)
private func ascii(_ character: Unicode.Scalar) -> UInt32 {
    character.value
}
