/// A set of Unicode scalars: a character class (`[a-z]`, `\d`, `\p{L}`, `.`) of a pattern.
///
/// Membership of an ASCII scalar is one bit test; other scalars are looked up in sorted,
/// disjoint ranges, then in general categories.
struct ScalarSet: Sendable, Equatable {
    /// Ranges of scalar values: sorted, disjoint and not adjacent once sealed.
    private(set) var ranges: [ClosedRange<UInt32>] = []
    /// General categories whose scalars are members (`\p{L}`).
    private(set) var categories: [Unicode.GeneralCategory] = []
    /// Groups of general categories whose non-members are members (`\P{L}` inside a class).
    private(set) var excludedCategories: [[Unicode.GeneralCategory]] = []
    /// The set is the complement of the above (`[^...]`).
    private(set) var isNegated = false
    /// Membership of 0...63 and 64...127, computed from the above by ``seal()``.
    private var asciiLow: UInt64 = 0
    private var asciiHigh: UInt64 = 0

    init() {}

    init(ranges: [ClosedRange<UInt32>], negated: Bool = false) {
        for range in ranges { insert(range) }
        isNegated = negated
        seal()
    }

    /// Adds the scalars of `range`; ``seal()`` puts the ranges in order.
    mutating func insert(_ range: ClosedRange<UInt32>) {
        ranges.append(range)
    }

    /// Sorts the ranges and merges those that overlap or touch.
    private mutating func normalize() {
        guard ranges.count > 1 else { return }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = [ranges[0]]
        merged.reserveCapacity(ranges.count)
        for range in ranges.dropFirst() {
            let last = merged[merged.count - 1]
            if range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        ranges = merged
    }

    /// Adds every member of `other`: a set of ranges (`\d`) or of categories (`\p{L}`), either
    /// possibly negated (`\D`, `\P{L}`).
    ///
    /// (A negated set of both ranges and categories, which no escape makes, is taken as the
    /// complement of its categories alone: a superset.)
    mutating func formUnion(_ other: ScalarSet) {
        if other.isNegated {
            if other.categories.isEmpty {
                for range in other.complementRanges() { insert(range) }
            } else {
                excludedCategories.append(other.categories)
            }
        } else {
            for range in other.ranges { insert(range) }
            categories += other.categories
            excludedCategories += other.excludedCategories
        }
    }

    /// A set of the scalars of general categories (`\p{L}`), or of all others (`\P{L}`).
    init(categories: [Unicode.GeneralCategory], negated: Bool) {
        self.categories = categories
        isNegated = negated
        seal()
    }

    /// Makes this the complement of itself.
    mutating func negate() {
        isNegated.toggle()
    }

    /// The complement of the ranges alone, over all scalar values.
    private func complementRanges() -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound &+ 1
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return result
    }

    /// Puts the ranges in order and computes the ASCII bitmap; call once the set is complete.
    mutating func seal() {
        normalize()
        asciiLow = 0
        asciiHigh = 0
        for value in UInt32(0)..<128 where slowContains(value) {
            if value < 64 { asciiLow |= 1 << UInt64(value) } else { asciiHigh |= 1 << UInt64(value - 64) }
        }
    }

    /// Whether the scalar with this value is a member.
    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return asciiLow & (1 << UInt64(value)) != 0 }
        if value < 128 { return asciiHigh & (1 << UInt64(value - 64)) != 0 }
        return slowContains(value)
    }

    private func slowContains(_ value: UInt32) -> Bool {
        var found = inRanges(value)
        if !found, !categories.isEmpty || !excludedCategories.isEmpty, let scalar = Unicode.Scalar(value) {
            let category = scalar.properties.generalCategory
            found = categories.contains(category) || excludedCategories.contains { !$0.contains(category) }
        }
        return found != isNegated
    }

    private func inRanges(_ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            let range = ranges[middle]
            if value < range.lowerBound {
                high = middle
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Whether this set and `other` have a member in common, judged on ASCII and the ranges
    /// (for the lint, which may miss an overlap among categories but never invents one).
    func mayOverlap(_ other: ScalarSet) -> Bool {
        if asciiLow & other.asciiLow != 0 || asciiHigh & other.asciiHigh != 0 { return true }
        // Beyond ASCII, only plain range sets are compared.
        guard !isNegated, !other.isNegated, categories.isEmpty, other.categories.isEmpty,
            excludedCategories.isEmpty, other.excludedCategories.isEmpty
        else { return false }
        for a in ranges where a.upperBound >= 128 {
            for b in other.ranges where b.upperBound >= 128 && a.overlaps(b) { return true }
        }
        return false
    }

    // MARK: - Predefined sets (ASCII semantics, as in ECMAScript)

    /// `\d`: 0-9.
    static let digits = ScalarSet(ranges: [0x30...0x39])
    /// `\w`: A-Z, a-z, 0-9, _.
    static let wordCharacters = ScalarSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    /// `\s`: ECMAScript's WhiteSpace and LineTerminator.
    static let whitespace = ScalarSet(ranges: [
        0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029, 0x202F...0x202F,
        0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ])
    /// The line terminators `.` does not match: \n, \r, U+2028, U+2029.
    static let lineTerminators = ScalarSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029])
    /// `.`: every scalar but a line terminator.
    static let dot = ScalarSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029], negated: true)

    /// Whether `value` is a word character for `\b` (ASCII, as `\w`).
    @inline(__always)
    static func isWordCharacter(_ value: UInt32) -> Bool {
        (value >= 0x61 && value <= 0x7A) || (value >= 0x41 && value <= 0x5A) || (value >= 0x30 && value <= 0x39) || value == 0x5F
    }

    /// The general category a `\p{...}` name stands for: short (`Lu`) or long
    /// (`Uppercase_Letter`) names, with `gc=`/`General_Category=` optional. A one-letter
    /// name (`L`) stands for its whole group.
    static func categories(named name: String) -> [Unicode.GeneralCategory]? {
        var name = name
        for prefix in ["General_Category=", "gc="] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
        }
        let key = name.lowercased().replacingAllOccurrences(of: "_", with: "").replacingAllOccurrences(of: " ", with: "")
        return categoryNames[key]
    }

    private static let categoryNames: [String: [Unicode.GeneralCategory]] = {
        let all: [(short: String, long: String, category: Unicode.GeneralCategory)] = [
            ("Lu", "Uppercase_Letter", .uppercaseLetter), ("Ll", "Lowercase_Letter", .lowercaseLetter),
            ("Lt", "Titlecase_Letter", .titlecaseLetter), ("Lm", "Modifier_Letter", .modifierLetter),
            ("Lo", "Other_Letter", .otherLetter), ("Mn", "Nonspacing_Mark", .nonspacingMark),
            ("Mc", "Spacing_Mark", .spacingMark), ("Me", "Enclosing_Mark", .enclosingMark),
            ("Nd", "Decimal_Number", .decimalNumber), ("Nl", "Letter_Number", .letterNumber),
            ("No", "Other_Number", .otherNumber), ("Pc", "Connector_Punctuation", .connectorPunctuation),
            ("Pd", "Dash_Punctuation", .dashPunctuation), ("Ps", "Open_Punctuation", .openPunctuation),
            ("Pe", "Close_Punctuation", .closePunctuation), ("Pi", "Initial_Punctuation", .initialPunctuation),
            ("Pf", "Final_Punctuation", .finalPunctuation), ("Po", "Other_Punctuation", .otherPunctuation),
            ("Sm", "Math_Symbol", .mathSymbol), ("Sc", "Currency_Symbol", .currencySymbol),
            ("Sk", "Modifier_Symbol", .modifierSymbol), ("So", "Other_Symbol", .otherSymbol),
            ("Zs", "Space_Separator", .spaceSeparator), ("Zl", "Line_Separator", .lineSeparator),
            ("Zp", "Paragraph_Separator", .paragraphSeparator), ("Cc", "Control", .control),
            ("Cf", "Format", .format), ("Cs", "Surrogate", .surrogate), ("Co", "Private_Use", .privateUse),
            ("Cn", "Unassigned", .unassigned),
        ]
        let groups = ["L": "Letter", "M": "Mark", "N": "Number", "P": "Punctuation", "S": "Symbol", "Z": "Separator", "C": "Other"]
        func key(_ name: String) -> String { name.lowercased().replacingAllOccurrences(of: "_", with: "") }
        var names: [String: [Unicode.GeneralCategory]] = [:]
        for entry in all {
            names[key(entry.short)] = [entry.category]
            names[key(entry.long)] = [entry.category]
        }
        for (letter, long) in groups {
            let members = all.filter { $0.short.hasPrefix(letter) }.map(\.category)
            names[key(letter)] = members
            names[key(long)] = members
        }
        names["digit"] = [.decimalNumber]
        names["lc"] = [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter]
        names["casedletter"] = names["lc"]
        return names
    }()
}

extension String {
    /// `self` with every `target` replaced (no Foundation).
    fileprivate func replacingAllOccurrences(of target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
