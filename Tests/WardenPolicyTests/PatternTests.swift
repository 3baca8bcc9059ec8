import Foundation
import Testing
import WardenJSON

@testable import WardenPolicy

/// Warden's own regular-expression matcher: the ECMAScript dialect of JSON Schema's `pattern`,
/// matched in linear time.
@Suite struct PatternTests {
    /// Whether `pattern` matches in `string`; the bit-parallel and the general simulation agree.
    func matches(_ pattern: String, _ string: String) throws -> Bool {
        let compiled = try Pattern(pattern)
        let result = compiled.search(string)
        #expect(result != .limitExceeded)
        #expect(compiled.search(string, general: true) == result, "/\(pattern)/ on \(string.debugDescription): the engines disagree")
        return result == .match
    }

    @Test(arguments: [
        // Search semantics: anywhere, unless anchored.
        ("abc", "xxabcxx", true), ("^abc", "xabc", false), ("abc$", "abcx", false), ("^abc$", "abc", true),
        ("", "anything", true), ("^$", "", true), ("^$", "x", false),
        // Literals and escapes.
        (#"a\.b"#, "a.b", true), (#"a\.b"#, "axb", false), (#"\\"#, #"a\b"#, true), (#"\/"#, "a/b", true),
        (#"\-"#, "-", true), (#"\n"#, "a\nb", true), (#"\t"#, "\t", true), (#"\u00e9"#, "caf\u{e9}", true),
        (#"\x41"#, "A", true), (#"\u{1F600}"#, "\u{1F600}", true), (#"^\uD83D\uDE00$"#, "\u{1F600}", true), (#"\*\+\?\(\)\[\]\{\}\|\^\$"#, "*+?()[]{}|^$", true),
        ("}", "}", true), ("]", "]", true),
        // Any character but a line terminator.
        ("^.$", "é", true), ("^.$", "\u{1F600}", true), ("^.$", "\n", false), ("^.$", "\r", false), ("^..$", "é", false),
        // Classes.
        ("^[a-z0-9_]+$", "abc_09", true), ("^[a-z0-9_]+$", "abC", false), ("^[^a-z]$", "A", true), ("^[^a-z]$", "q", false),
        ("^[-a]$", "-", true), ("^[a-]$", "-", true), (#"^[\]]$"#, "]", true), (#"^[\\]$"#, #"\"#, true), ("^[.]$", "x", false),
        (#"^[\d.]+$"#, "1.5", true), (#"^[^\d]+$"#, "ab", true), (#"^[^\d]+$"#, "a1", false), (#"^[\w-]+$"#, "a-b_c", true),
        ("^[é-ë]$", "ê", true), (#"^[\u0041-\u005A]$"#, "Q", true),
        // Shorthands, with ASCII semantics (as ECMAScript).
        (#"^\d+$"#, "0123456789", true), (#"^\d$"#, "٣", false), (#"^\w+$"#, "abc_XYZ_09", true), (#"^\w$"#, "é", false),
        (#"^\s$"#, " ", true), (#"^\s$"#, "\u{00A0}", true), (#"^\S$"#, " ", false), (#"^\D$"#, "a", true), (#"^\W$"#, "-", true),
        // Unicode general categories.
        (#"^\p{L}+$"#, "Ωmega", true), (#"^\p{Lu}$"#, "a", false), (#"^\P{L}$"#, "1", true), (#"^[\p{N}x]+$"#, "x٣1", true),
        // Groups and alternation.
        ("^(ab)+$", "ababab", true), ("^(ab)+$", "aba", false), ("^(?:a|b)c$", "bc", true), ("^(?<word>ab)c$", "abc", true),
        ("^(srv|home)/", "home/x", true), ("^(srv|home)/", "var/x", false), ("a|", "zzz", true), ("^()$", "", true),
        // Quantifiers, counted and lazy.
        ("^a*$", "", true), ("^a+$", "", false), ("^ab?c$", "ac", true), ("^a{3}$", "aaa", true), ("^a{3}$", "aa", false),
        ("^a{2,}$", "aaaaa", true), ("^a{2,}$", "a", false), ("^a{1,2}$", "aaa", false), ("^a{0,2}$", "", true),
        ("^a+?$", "aaa", true), ("^a{1,3}?b$", "aab", true), ("^(a|b)*?c$", "ababc", true),
        ("^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$", "DE89370400440532013000", true),
        ("^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$", "DE8937040044", false),
        // Word boundaries and the \A \z anchors.
        (#"\bcat\b"#, "a cat!", true), (#"\bcat\b"#, "concat", false), (#"\Bcat"#, "concat", true), (#"\Aab\z"#, "ab", true),
        // Control escapes and octal.
        (#"\cJ"#, "\n", true), (#"\0"#, "\u{0}", true),
    ])
    func dialect(pattern: String, string: String, expected: Bool) throws {
        #expect(try matches(pattern, string) == expected, "/\(pattern)/ on \(string.debugDescription)")
    }

    @Test func dollarIsTheEndOfTheStringOnly() throws {
        // As in ECMAScript (JSON Schema): no match before a final newline, unlike ICU or PCRE.
        #expect(try !matches("^[a-z]+$", "abc\n"))
        #expect(try matches("^[a-z]+$", "abc"))
    }

    @Test func theExamplePatternsBehaveAsBefore() throws {
        let timezone = "^[A-Za-z_]+(/[A-Za-z_+-]+)*$"
        #expect(try matches(timezone, "Europe/Oslo"))
        #expect(try matches(timezone, "America/Argentina/Buenos_Aires"))
        #expect(try matches(timezone, "America/Port-au-Prince"))
        #expect(try !matches(timezone, "Europe/Oslo; rm -rf /"))
        #expect(try !matches(timezone, "../etc"))
        let email = #"@(example\.invalid|mailinator\.com)$"#
        #expect(try matches(email, "a@mailinator.com"))
        #expect(try !matches(email, "a@mailinator.com.evil"))
        #expect(try !matches(email, "a@mailinatorxcom"))
    }

    /// The pattern of issue 12: a backtracking engine takes 2^40 steps on it; Warden's takes a
    /// number of steps proportional to the string, so a limit of 20 steps a character holds.
    @Test func nestedQuantifiersMatchInLinearTime() throws {
        let hostile = String(repeating: "a", count: 40) + "!"
        #expect(try Pattern("(a+)+$").search(hostile) == .noMatch)
        let long = String(repeating: "a", count: 100_000) + "!"
        for source in ["(a+)+$", "^(a*)*$", "^(a|a)*$", "^(a|aa)+$", #"^(\w+\s?)+$"#, "(a+a+)+y"] {
            let pattern = try Pattern(source, stepLimit: 20 * long.count)
            #expect(pattern.search(long) == .noMatch, "\(source)")
            #expect(pattern.search(long, general: true) == .noMatch, "\(source), general simulation")
        }
        #expect(try Pattern("(a+)+$", stepLimit: 20 * long.count).search(String(long.dropLast())) == .match)
    }

    /// Patterns of more than 63 consuming states run on the general simulation only.
    @Test func largePatternsUseTheGeneralSimulation() throws {
        let digits = String(repeating: "[0-9]", count: 70)
        #expect(try matches("^\(digits)$", String(repeating: "7", count: 70)))
        #expect(try !matches("^\(digits)$", String(repeating: "7", count: 69)))
        #expect(try matches("x\\d{100}\\b", "ax" + String(repeating: "1", count: 100) + " "))
        #expect(try !matches("x\\d{100}\\b", "ax" + String(repeating: "1", count: 101)))
    }

    @Test func aSearchPastItsStepLimitSaysSo() throws {
        // About a thousand threads are alive at each character: a thousand steps a character.
        let pattern = try Pattern("a{1000}b", stepLimit: 3_000_000)
        #expect(pattern.search(String(repeating: "a", count: 5_000)) == .limitExceeded)
        #expect(pattern.search(String(repeating: "a", count: 1_000) + "b") == .match)
        #expect(Pattern.defaultStepLimit == 50_000_000)
    }

    @Test(arguments: [
        (#"(a)\1"#, "backreferences"), (#"(?<n>a)\k<n>"#, "backreferences"), ("a(?=b)", "lookahead"),
        ("a(?!b)", "negative lookahead"), ("(?<=a)b", "lookbehind"), ("(?<!a)b", "negative lookbehind"),
        ("(?>a+)b", "atomic groups"), ("a++", "possessive"), ("a*+", "possessive"), ("a{2}+", "possessive"),
        ("(?i)abc", "inline flags"), ("a{1001}", "too large"), ("a{2,1}", "out of order"), ("(?:a{1000}){25}", "too large"),
        ("(abc", "unclosed group"), ("abc)", "unmatched"), ("[abc", "unclosed character class"), ("*a", "nothing to repeat"),
        ("a**", "cannot follow another quantifier"), ("a{", "starts a repetition"), ("x{1,2", "starts a repetition"),
        ("[z-a]", "out of order"), (#"[\d-z]"#, "invalid range"), ("[[a]]", "nested character classes"),
        ("[a&&b]", "set operations"), ("[]", "empty character class"), (#"\q"#, "unknown escape"), ("a\\", "lone backslash"),
        (#"\p{Latin}"#, "unsupported property"), (#"\u12"#, "hex digits"), (#"\x{110000}"#, "not a Unicode scalar"),
        (String(repeating: "(", count: 300) + String(repeating: ")", count: 300), "nested more than"),
        (String(repeating: "x", count: 10_001), "patterns go up to 10000"),
    ])
    func whatALinearMatcherCannotDoIsRefused(pattern: String, reason: String) {
        #expect(throws: PatternError.self) { try Pattern(pattern) }
        do {
            _ = try Pattern(pattern)
        } catch {
            #expect(error.message.contains(reason), "\(pattern): \(error.message)")
            #expect(error.description.hasPrefix("invalid regular expression \"\(pattern.prefix(60))"))
            #expect(error.description.count < 400)
        }
    }

    /// Long classes and long alternations compile, and are linted, in about linear time.
    @Test func largePatternsCompileQuickly() throws {
        let started = Date()
        let letters = (0..<4_000).compactMap { Unicode.Scalar(0x4E00 + 2 * $0).map(String.init) }
        let wide = try Pattern("^[" + letters.joined() + "]+$")
        #expect(wide.search(letters.prefix(100).joined()) == .match)
        #expect(wide.search("\u{4E01}") == .noMatch)
        let words = (0..<1_500).map { "w\($0)" }
        let alternatives = try Pattern("^(" + words.joined(separator: "|") + ")+$")
        #expect(alternatives.search("w17w1499w0") == .match)
        #expect(alternatives.search("w17w1500") == .noMatch)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func errorsSayWhereInThePattern() {
        #expect(throws: PatternError.self) { try Pattern("^ab(?=c)") }
        do {
            _ = try Pattern("^ab(?=c)")
        } catch {
            #expect(error.offset == 3)
            #expect(error.description.hasSuffix("(at character 4)"))
        }
    }

    @Test(arguments: ["(a+)+", "(a*)*", "(a|a)*", "(?:a+)*b", #"^(\w+\s?)+$"#, "(a|aa)+", "([a-z]+)*$", "(x|[a-z])+"])
    func likelyMistakesAreNoticed(pattern: String) throws {
        #expect(try Pattern(pattern).warning != nil, "\(pattern)")
    }

    @Test(arguments: [
        "^[A-Za-z_]+(/[A-Za-z_+-]+)*$", #"^([a-z0-9-]+\.)+[a-z]{2,}$"#, #"^(\d{1,3}\.){3}\d{1,3}$"#, "(ab|cd)*", "a+b+",
        "(a{2})*", "(a?)*", #"@(evil|spam)\.example$"#, "^/(srv|home)(/[^/.][^/]*)+/?$",
    ])
    func ordinaryPatternsAreNotFlagged(pattern: String) throws {
        #expect(try Pattern(pattern).warning == nil, "\(pattern)")
    }
}

/// Regexes in policies: load-time errors and warnings, and decisions that fail closed.
@Suite struct PolicyPatternTests {
    @Test func anUnsupportedPatternIsALocatedLoadError() throws {
        let found = problems(
            """
            version: "1"
            tools:
              t:
                require: [{path: args.x, op: regex, value: "^(a)\\\\1$"}]
                args: {type: object, properties: {y: {type: string, pattern: "^(?<=x)y"}}}
            """)
        #expect(found.count == 2)
        let backreference = try #require(found.first { $0.pointer.description == "/tools/t/require/0/value" })
        #expect(backreference.position == JSONPosition(line: 4, column: 41))  // the key "value"
        #expect(backreference.message.hasPrefix("invalid regular expression \"^(a)\\1$\" at /tools/t/require/0/value: backreferences"))
        #expect(backreference.message.hasSuffix("(character 5 of the pattern)"))
        let lookbehind = try #require(found.first { $0.pointer.description == "/tools/t/args/properties/y/pattern" })
        #expect(lookbehind.position?.line == 5)
        #expect(lookbehind.message.contains("lookbehind (?<=...) is not supported"))
    }

    @Test func nestedQuantifiersLoadWithAWarning() throws {
        let policy = try loadYAML(
            """
            tools:
              t:
                require: [{path: args.x, op: regex, value: "(a+)+$"}]
            """)
        #expect(policy.warnings.count == 1)
        let warning = try #require(policy.warnings.first)
        #expect(warning.severity == .warning)
        #expect(warning.pointer.description == "/tools/t/require/0/value")
        #expect(warning.position?.line == 3)
        #expect(warning.message.contains("nests quantifiers"))
        #expect(warning.message.contains("Warden matches it in linear time"))
        #expect(warning.description.hasPrefix("test.yaml:3:"))
        #expect(warning.description.contains(": warning: the regular expression \"(a+)+$\""))
        // And it is enforced as written, at once.
        let started = Date()
        let decision = evaluate(policy, try call("t", "{\"x\": \"\(String(repeating: "a", count: 40))!\"}"))
        #expect(decision.outcome == .deny)
        #expect(decision.rule.description == "/tools/t/require/0")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// A search that gives up at its step limit denies the call, naming the rule: in
    /// `require`, in `deny_if` (whose match would deny) and in an argument schema.
    @Test func aSearchThatGivesUpFailsClosed() throws {
        let policy = try loadYAML(
            """
            tools:
              required:
                require: [{path: args.x, op: regex, value: "a{1000}b"}]
              denied_if:
                deny_if: [{conditions: [{path: args.x, op: exists}, {path: args.x, op: regex, value: "a{1000}b"}]}]
              schema:
                args: {type: object, properties: {x: {type: string, pattern: "a{1000}b"}}}
            """)
        // 60,000 characters with about a thousand states alive at each: 60 million steps, past the limit.
        let arguments = "{\"x\": \"\(String(repeating: "a", count: 60_000))\"}"
        let required = evaluate(policy, try call("required", arguments))
        #expect(required.outcome == .deny && required.enforced)
        #expect(required.rule.description == "/tools/required/require/0")
        #expect(required.message.contains("too long to check against the pattern"))
        let deniedIf = evaluate(policy, try call("denied_if", arguments))
        #expect(deniedIf.outcome == .deny)
        #expect(deniedIf.rule.description == "/tools/denied_if/deny_if/0/conditions/1")
        let schema = evaluate(policy, try call("schema", arguments))
        #expect(schema.outcome == .deny)
        #expect(schema.rule.description == "/tools/schema/args/properties/x/pattern")
        #expect(schema.message == "invalid arguments: /x is too long to check against the pattern \"a{1000}b\"")
        // A deny_if entry with a false condition does not apply, searched or not.
        let other = try loadYAML(
            """
            tools:
              t:
                deny_if: [{conditions: [{path: args.y, op: exists}, {path: args.x, op: regex, value: "a{1000}b"}]}]
            """)
        #expect(evaluate(other, try call("t", arguments)).outcome == .allow)
    }
}
