/// A strict, fast JSON reader.
///
/// It accepts exactly RFC 8259 JSON and rejects, with a positioned ``JSONReadError``: invalid
/// UTF-8, lone surrogates, unescaped control characters, duplicate keys (compared byte for
/// byte after unescaping), nesting deeper than ``Configuration/maxDepth``, a byte order mark,
/// and anything after the value but whitespace. Numbers keep their exact text.
///
/// ```swift
/// let value = try JSONReader.parse(#"{"name": "get_time", "arguments": {"tz": "UTC"}}"#)
/// ```
public struct JSONReader {
    /// Limits on what the reader accepts.
    public struct Configuration: Sendable {
        /// The deepest nesting of arrays and objects accepted; the root array or object is
        /// depth 1. The default is 64.
        public var maxDepth: Int

        public init(maxDepth: Int = 64) {
            self.maxDepth = maxDepth
        }
    }

    /// Reads one JSON document.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        configuration: Configuration = .init()
    ) throws(JSONReadError) -> JSONValue {
        try withBuffer(bytes) { (buffer) throws(JSONReadError) in try document(in: buffer, configuration: configuration) }
    }

    /// Reads one JSON document from an array: the same as the generic `parse`, but without
    /// generic dispatch, which a call from another module would otherwise pay.
    public static func parse(_ bytes: [UInt8], configuration: Configuration = .init()) throws(JSONReadError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONReadError) in try document(in: buffer, configuration: configuration) }
    }

    private static func document(in buffer: UnsafeBufferPointer<UInt8>, configuration: Configuration) throws(JSONReadError) -> JSONValue {
        var parser = Parser(bytes: buffer, maxDepth: configuration.maxDepth, recordsPositions: false)
        return try parser.document()
    }

    /// Reads one JSON document from a string.
    public static func parse(_ string: String, configuration: Configuration = .init()) throws(JSONReadError) -> JSONValue {
        try parse(string.utf8, configuration: configuration)
    }

    /// Reads one JSON document and the position of every value in it, keyed by JSON Pointer.
    /// For an object member the position is that of its key. Meant for configuration files,
    /// whose problems are reported by line and column.
    public static func parseWithPositions(
        _ bytes: some Collection<UInt8>,
        configuration: Configuration = .init()
    ) throws(JSONReadError) -> (value: JSONValue, positions: [JSONPointer: JSONPosition]) {
        try withBuffer(bytes) { (buffer) throws(JSONReadError) in
            var parser = Parser(bytes: buffer, maxDepth: configuration.maxDepth, recordsPositions: true)
            let value = try parser.document()
            return (value, parser.resolvedPositions())
        }
    }

    private static func withBuffer<Result>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) throws(JSONReadError) -> Result
    ) throws(JSONReadError) -> Result {
        let result: Swift.Result<Result, JSONReadError>? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(JSONReadError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { (buffer) throws(JSONReadError) in try body(buffer) }
    }
}

extension JSONReader {
    /// The recursive-descent parser over one buffer.
    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        let recordsPositions: Bool
        var index = 0
        var depth = 0
        /// With `recordsPositions`: the pointer tokens of the value being read, and the offsets found.
        var path: [String] = []
        var offsets: [(JSONPointer, Int)] = []

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, recordsPositions: Bool) {
            self.bytes = bytes
            self.maxDepth = maxDepth
            self.recordsPositions = recordsPositions
        }

        mutating func document() throws(JSONReadError) -> JSONValue {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
                throw error(.byteOrderMark, at: 0)
            }
            skipWhitespace()
            guard index < bytes.count else {
                throw error(bytes.isEmpty ? .emptyInput : .unexpectedEndOfInput, at: index)
            }
            if recordsPositions { offsets.append((.root, index)) }
            let value = try self.value()
            skipWhitespace()
            guard index == bytes.count else { throw error(.trailingCharacters, at: index) }
            return value
        }

        func error(_ kind: JSONReadError.Kind, at offset: Int) -> JSONReadError {
            let position = JSONPosition.of(offset: offset, in: bytes)
            return JSONReadError(kind: kind, offset: offset, line: position.line, column: position.column)
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value() throws(JSONReadError) -> JSONValue {
            guard index < bytes.count else { throw error(.unexpectedEndOfInput, at: index) }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            case 0x80...: throw error(isValidUTF8Sequence(at: index) ? .unexpectedCharacter : .invalidUTF8, at: index)
            default: throw error(.unexpectedCharacter, at: index)
            }
        }

        mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONReadError) -> JSONValue {
            let start = index
            for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
                guard index < bytes.count else { throw error(.unexpectedEndOfInput, at: index) }
                guard bytes[index] == expected else { throw error(.unexpectedCharacter, at: start) }
                index += 1
            }
            return value
        }

        mutating func enter() throws(JSONReadError) {
            depth += 1
            if depth > maxDepth { throw error(.tooDeep(limit: maxDepth), at: index) }
        }

        /// After an element: consumes `,` (more follow: `false`) or the closing bracket (`true`).
        mutating func closes(with closing: UInt8) throws(JSONReadError) -> Bool {
            skipWhitespace()
            guard index < bytes.count else { throw error(.unexpectedEndOfInput, at: index) }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                return false
            case closing:
                index += 1
                depth -= 1
                return true
            default:
                throw error(.unexpectedCharacter, at: index)
            }
        }

        mutating func array() throws(JSONReadError) -> JSONValue {
            try enter()
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                if recordsPositions {
                    path.append(String(elements.count))
                    offsets.append((JSONPointer(tokens: path), index))
                }
                elements.append(try value())
                if recordsPositions { path.removeLast() }
                if try closes(with: UInt8(ascii: "]")) { return .array(elements) }
            }
        }

        mutating func object() throws(JSONReadError) -> JSONValue {
            try enter()
            index += 1
            var members: [JSONObject.Member] = []
            var seen: Set<ExactName>?
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(JSONObject(members))
            }
            // Room for a message envelope's members at once, not grown one allocation at a time.
            members.reserveCapacity(4)
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw error(.unexpectedEndOfInput, at: index) }
                guard bytes[index] == UInt8(ascii: "\"") else { throw error(.unexpectedCharacter, at: index) }
                let keyOffset = index
                let key = try string()
                if members.count < 16 {
                    for member in members where member.key.hasSameBytes(as: key) {
                        throw error(.duplicateKey(key), at: keyOffset)
                    }
                } else {
                    if seen == nil { seen = Set(members.map { ExactName($0.key) }) }
                    guard seen!.insert(ExactName(key)).inserted else { throw error(.duplicateKey(key), at: keyOffset) }
                }
                skipWhitespace()
                guard index < bytes.count else { throw error(.unexpectedEndOfInput, at: index) }
                guard bytes[index] == UInt8(ascii: ":") else { throw error(.unexpectedCharacter, at: index) }
                index += 1
                skipWhitespace()
                if recordsPositions {
                    path.append(key)
                    offsets.append((JSONPointer(tokens: path), keyOffset))
                }
                let value = try self.value()
                if recordsPositions { path.removeLast() }
                members.append(JSONObject.Member(key: key, value: value))
                if try closes(with: UInt8(ascii: "}")) { return .object(JSONObject(members)) }
            }
        }

        mutating func number() throws(JSONReadError) -> JSONNumber {
            let start = index
            func isDigit(_ offset: Int) -> Bool { offset < bytes.count && bytes[offset] >= 0x30 && bytes[offset] <= 0x39 }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw error(.invalidNumber, at: start) }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if isDigit(index) { throw error(.invalidNumber, at: start) }
            } else {
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard isDigit(index) else { throw error(.invalidNumber, at: start) }
                while isDigit(index) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard isDigit(index) else { throw error(.invalidNumber, at: start) }
                while isDigit(index) { index += 1 }
            }
            return JSONNumber(uncheckedText: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        /// Reads a string starting at its opening quote.
        mutating func string() throws(JSONReadError) -> String {
            index += 1
            let start = index
            // Fast path: plain ASCII with no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
                index += 1
            }
            var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(decoding: buffer, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    try escape(into: &buffer)
                case 0..<0x20:
                    throw error(.controlCharacterInString, at: index)
                case 0x80...:
                    let length = utf8SequenceLength(at: index)
                    guard length > 0 else { throw error(.invalidUTF8, at: index) }
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<index + length]))
                    index += length
                default:
                    buffer.append(byte)
                    index += 1
                }
            }
            throw error(.unexpectedEndOfInput, at: index)
        }

        mutating func escape(into buffer: inout [UInt8]) throws(JSONReadError) {
            let start = index
            index += 1
            guard index < bytes.count else { throw error(.unexpectedEndOfInput, at: index) }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(byte)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(escapeStart: start)
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error(.invalidUnicodeEscape, at: start)
                    }
                    index += 2
                    let low = try hex4(escapeStart: start)
                    guard (0xDC00...0xDFFF).contains(low) else { throw error(.invalidUnicodeEscape, at: start) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error(.invalidUnicodeEscape, at: start)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error(.invalidUnicodeEscape, at: start) }
                buffer.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw error(.invalidEscape, at: start)
            }
        }

        mutating func hex4(escapeStart: Int) throws(JSONReadError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error(.invalidEscape, at: escapeStart) }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error(.invalidEscape, at: escapeStart)
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        func isValidUTF8Sequence(at offset: Int) -> Bool {
            utf8SequenceLength(at: offset) > 0
        }

        /// The length of the valid UTF-8 sequence starting at `offset`, or 0 if it is invalid
        /// (overlong forms, surrogates and values beyond U+10FFFF are invalid).
        func utf8SequenceLength(at offset: Int) -> Int {
            let lead = bytes[offset]
            let length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondRange = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; secondRange = 0x80...0x9F
            case 0xF0: length = 4; secondRange = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; secondRange = 0x80...0x8F
            default: return 0
            }
            guard offset + length <= bytes.count, secondRange.contains(bytes[offset + 1]) else { return 0 }
            for next in offset + 2..<offset + length where bytes[next] & 0xC0 != 0x80 {
                return 0
            }
            return length
        }

        /// The recorded offsets as lines and columns, computed in one pass over the bytes
        /// (the offsets are recorded in document order), so positions cost time linear in
        /// the document however many values share one long line.
        func resolvedPositions() -> [JSONPointer: JSONPosition] {
            var positions: [JSONPointer: JSONPosition] = [:]
            positions.reserveCapacity(offsets.count)
            var ordered = offsets
            if !offsets.indices.dropFirst().allSatisfy({ offsets[$0 - 1].1 <= offsets[$0].1 }) {
                ordered.sort { $0.1 < $1.1 }
            }
            var line = 1
            var column = 1
            var scanned = 0
            for (pointer, offset) in ordered {
                while scanned < offset {
                    let byte = bytes[scanned]
                    if byte == UInt8(ascii: "\n") {
                        line += 1
                        column = 1
                    } else if byte & 0xC0 != 0x80 {
                        column += 1
                    }
                    scanned += 1
                }
                positions[pointer] = JSONPosition(line: line, column: column)
            }
            return positions
        }
    }
}
