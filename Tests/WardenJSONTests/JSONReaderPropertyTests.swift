import Testing
import WardenJSON
import WardenTesting

/// Generated documents: what the writer writes, the reader reads back; and no mangled input
/// ever crashes the reader.
@Suite struct JSONReaderPropertyTests {
    static let numbers = ["0", "-0", "1", "-17", "3.25", "1e9", "1E-7", "-2.5e+3", "12345678901234567890123", "0.000001"]
    static let strings = ["", "a", "caf\u{e9}", "e\u{301}", "😀", "\"quoted\"", "back\\slash", "tab\there", "\u{1}", "line\nbreak", "/"]

    static func randomValue(_ random: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 4 ? 4 : 6), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(JSONNumber(numbers.randomElement(using: &random)!)!)
        case 3: return .string(strings.randomElement(using: &random)!)
        case 4: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            let keys = Set((0..<Int.random(in: 0...4, using: &random)).map { _ in strings.randomElement(using: &random)! + String(Int.random(in: 0...3, using: &random)) })
            return .object(JSONObject(keys.map { JSONObject.Member(key: $0, value: randomValue(&random, depth: depth + 1)) }))
        }
    }

    @Test func writtenDocumentsReadBackExactly() throws {
        var random = SeededGenerator(seed: 2026)
        for _ in 0..<2000 {
            let value = Self.randomValue(&random)
            let text = JSONWriter.write(value)
            let parsed = try JSONReader.parse(text)
            #expect(parsed == value)
            #expect(JSONWriter.write(parsed) == text)
        }
    }

    @Test func mangledDocumentsNeverCrashTheReader() {
        var random = SeededGenerator(seed: 7)
        var accepted = 0
        for _ in 0..<5000 {
            var bytes = Array(JSONWriter.write(Self.randomValue(&random)).utf8)
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                }
            }
            // Accepting or refusing are both fine; what matters is a clean answer every time.
            if (try? JSONReader.parse(bytes)) != nil { accepted += 1 }
        }
        #expect(accepted < 5000)
    }
}
