import Testing
import WardenJSON

@Suite struct JSONReaderTests {
    func kind(of text: String, maxDepth: Int = 64) -> JSONReadError.Kind? {
        do {
            _ = try JSONReader.parse(text, configuration: .init(maxDepth: maxDepth))
            return nil
        } catch {
            return error.kind
        }
    }

    func error(_ bytes: [UInt8]) -> JSONReadError? {
        do {
            _ = try JSONReader.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsEveryKindOfValue() throws {
        let value = try JSONReader.parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}} "#)
        #expect(value["a"] == [1, .number(JSONNumber("-2.5e3")!), true, false, nil, "x"])
        #expect(value["b"] == .object(JSONObject()))
        #expect(try JSONReader.parse("[]") == [])
        #expect(try JSONReader.parse("\"\"") == "")
        #expect(try JSONReader.parse("0") == 0)
    }

    @Test func keepsKeyOrderAndNumberSpelling() throws {
        let value = try JSONReader.parse(#"{"z": 1.0, "a": 1E+2, "m": -0, "big": 12345678901234567890123}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["z", "a", "m", "big"])
        #expect(object.members.map { $0.value.numberValue?.text } == ["1.0", "1E+2", "-0", "12345678901234567890123"])
    }

    @Test func decodesEscapes() throws {
        let value = try JSONReader.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1F600}"))
        #expect(try JSONReader.parse("\"caf\u{e9} \u{1F600}\"") == .string("caf\u{e9} \u{1F600}"))
    }

    @Test func rejectsDuplicateKeysByteExactly() throws {
        #expect(kind(of: #"{"a": 1, "a": 2}"#) == .duplicateKey("a"))
        #expect(kind(of: #"{"a": 1, "\u0061": 2}"#) == .duplicateKey("a"))
        // Precomposed and decomposed é are different keys, as on the wire.
        #expect(kind(of: #"{"\u00e9": 1, "e\u0301": 2}"#) == nil)
        #expect(kind(of: #"{"a": {"a": 1}}"#) == nil)
    }

    @Test func findsADuplicateAmongManyKeys() {
        let members = (0..<500).map { "\"k\($0)\": \($0)" }.joined(separator: ",")
        #expect(kind(of: "{\(members)}") == nil)
        #expect(kind(of: "{\(members), \"k250\": 0}") == .duplicateKey("k250"))
        #expect(kind(of: "{\(members), \"k499\": 0}") == .duplicateKey("k499"))
    }

    @Test func limitsNesting() {
        let deep = { (depth: Int) in String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        #expect(kind(of: deep(64)) == nil)
        #expect(kind(of: deep(65)) == .tooDeep(limit: 64))
        #expect(kind(of: deep(3), maxDepth: 3) == nil)
        #expect(kind(of: deep(4), maxDepth: 3) == .tooDeep(limit: 3))
        #expect(kind(of: String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)) == .tooDeep(limit: 64))
        // Far deeper than any stack could recurse: refused, not crashed.
        #expect(kind(of: String(repeating: "[", count: 100_000)) == .tooDeep(limit: 64))
    }

    @Test(arguments: [
        ("", JSONReadError.Kind.emptyInput),
        ("   ", .unexpectedEndOfInput),
        ("[1,]", .unexpectedCharacter),
        ("{\"a\":1,}", .unexpectedCharacter),
        ("[1 2]", .unexpectedCharacter),
        ("{'a': 1}", .unexpectedCharacter),
        ("// c\n1", .unexpectedCharacter),
        ("NaN", .unexpectedCharacter),
        ("+1", .unexpectedCharacter),
        (".5", .unexpectedCharacter),
        ("01", .invalidNumber),
        ("1.", .invalidNumber),
        ("1e", .invalidNumber),
        ("-", .invalidNumber),
        ("tru", .unexpectedEndOfInput),
        ("nul1", .unexpectedCharacter),
        ("1 2", .trailingCharacters),
        ("{} x", .trailingCharacters),
        ("\"abc", .unexpectedEndOfInput),
        ("\"a\tb\"", .controlCharacterInString),
        ("\"\\x\"", .invalidEscape),
        ("\"\\u12\"", .invalidEscape),
        ("\"\\ud800\"", .invalidUnicodeEscape),
        ("\"\\udc00\"", .invalidUnicodeEscape),
        ("\"\\ud800\\u0041\"", .invalidUnicodeEscape),
        ("[1", .unexpectedEndOfInput),
        ("{\"a\"", .unexpectedEndOfInput),
        ("{\"a\" 1}", .unexpectedCharacter),
        ("{1: 2}", .unexpectedCharacter),
    ])
    func rejects(text: String, expected: JSONReadError.Kind) {
        #expect(kind(of: text) == expected)
    }

    @Test func rejectsInvalidUTF8AndByteOrderMarks() {
        #expect(error([0x22, 0xC3, 0x22])?.kind == .invalidUTF8)  // truncated sequence
        #expect(error([0x22, 0xC0, 0xAF, 0x22])?.kind == .invalidUTF8)  // overlong "/"
        #expect(error([0x22, 0xED, 0xA0, 0x80, 0x22])?.kind == .invalidUTF8)  // UTF-8 encoded surrogate
        #expect(error([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22])?.kind == .invalidUTF8)  // beyond U+10FFFF
        #expect(error([0x22, 0xFF, 0x22])?.kind == .invalidUTF8)
        #expect(error([0xFF])?.kind == .invalidUTF8)
        #expect(error([0xEF, 0xBB, 0xBF, 0x7B, 0x7D])?.kind == .byteOrderMark)
        #expect(error([0x22, 0xE2, 0x82, 0xAC, 0x22]) == nil)  // "€"
    }

    @Test func errorsCarryLineAndColumn() {
        let text = "{\n  \"a\": 1,\n  \"b\": [1, 2,],\n}"
        let failure = error(Array(text.utf8))
        #expect(failure?.kind == .unexpectedCharacter)
        #expect(failure?.line == 3)
        #expect(failure?.column == 14)
        #expect(failure?.offset == 25)
        #expect(failure?.description == "unexpected character at line 3, column 14")

        // Columns count Unicode scalars, not bytes.
        let unicode = error(Array("{\"é€😀\": 1, \"é€😀\": 2}".utf8))
        #expect(unicode?.line == 1)
        #expect(unicode?.column == 12)
        #expect(unicode?.description == "duplicate key \"é€😀\" at line 1, column 12")
    }

    @Test func errorDescriptionsNeverContainValues() {
        let secret = "sk-live-1234567890"
        for text in ["{\"token\": \"\(secret)\" x}", "[\"\(secret)\", 01]", "{\"a\": \"\(secret)\", \"a\": 1}"] {
            let failure = error(Array(text.utf8))
            #expect(failure != nil)
            #expect(failure?.description.contains(secret) == false)
        }
    }

    @Test func recordsPositionsByPointer() throws {
        let text = """
            {
              "tools": {
                "a/b": {"limits": [
                  {"max": 1},
                  {"max": 2}
                ]}
              }
            }
            """
        let (value, positions) = try JSONReader.parseWithPositions(Array(text.utf8))
        #expect(value["tools"]?["a/b"]?["limits"]?.arrayValue?.count == 2)
        #expect(positions[.root] == JSONPosition(line: 1, column: 1))
        #expect(positions[JSONPointer("/tools")!] == JSONPosition(line: 2, column: 3))
        #expect(positions[JSONPointer("/tools/a~1b")!] == JSONPosition(line: 3, column: 5))
        #expect(positions[JSONPointer("/tools/a~1b/limits")!] == JSONPosition(line: 3, column: 13))
        #expect(positions[JSONPointer("/tools/a~1b/limits/1")!] == JSONPosition(line: 5, column: 7))
        #expect(positions[JSONPointer("/tools/a~1b/limits/1/max")!] == JSONPosition(line: 5, column: 8))
        #expect(positions.count == 8)
    }

    @Test func readsFromAnyCollection() throws {
        let bytes: ArraySlice<UInt8> = Array("xx[1,2]".utf8)[2...]
        #expect(try JSONReader.parse(bytes) == [1, 2])
        #expect(try JSONReader.parse(AnySequenceWrapper(Array("{\"a\":true}".utf8))) == ["a": true])
    }
}

/// A collection without contiguous storage, to exercise the reader's copying path.
struct AnySequenceWrapper: Collection {
    var base: [UInt8]
    init(_ base: [UInt8]) { self.base = base }
    var startIndex: Int { base.startIndex }
    var endIndex: Int { base.endIndex }
    func index(after i: Int) -> Int { i + 1 }
    subscript(position: Int) -> UInt8 { base[position] }
}
