/// Writes JSON values as compact text: no whitespace, numbers with their exact original
/// text, keys in document order (or sorted by their UTF-8 bytes, for canonical forms), and
/// strings escaped minimally (`"`, `\`, and control characters).
public enum JSONWriter {
    /// The compact text of `value`.
    /// - Parameter sortKeys: Sort object keys by their UTF-8 bytes (a canonical form for hashing).
    public static func write(_ value: JSONValue, sortKeys: Bool = false) -> String {
        var output: [UInt8] = []
        write(value, sortKeys: sortKeys, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the compact UTF-8 text of `value` to `output`.
    public static func write(_ value: JSONValue, sortKeys: Bool = false, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let bool): output.append(contentsOf: (bool ? "true" : "false").utf8)
        case .number(let number): output.append(contentsOf: number.text.utf8)
        case .string(let string): writeString(string, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, sortKeys: sortKeys, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            let members = sortKeys ? object.members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : object.members
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, sortKeys: sortKeys, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `string` as a JSON string literal.
    public static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Most strings need no escape: they are copied whole, from their contiguous UTF-8 when they have it.
        let copied =
            string.utf8.withContiguousStorageIfAvailable { bytes in
                guard !needsEscape(UnsafeRawBufferPointer(bytes)) else { return false }
                output.append(contentsOf: bytes)
                return true
            } ?? false
        if !copied {
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
                case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
                case 0..<0x20:
                    output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    output.append(hexDigit(byte >> 4))
                    output.append(hexDigit(byte & 0xF))
                default: output.append(byte)
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Whether a byte of a string must be escaped in JSON text.
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Whether any byte of `bytes` must be escaped, eight bytes at a time.
    private static func needsEscape(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        /// Whether some byte of `word` is below `limit` (at most 0x80). Subtracting sets the
        /// high bit of the lowest such byte; a borrow can only set others above it.
        func hasByte(below limit: UInt64, in word: UInt64) -> Bool {
            (word &- ones &* limit) & ~word & highBits != 0
        }
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            if hasByte(below: 0x20, in: word) || hasByte(below: 1, in: word ^ (ones &* UInt64(UInt8(ascii: "\""))))
                || hasByte(below: 1, in: word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
            {
                return true
            }
            offset += 8
        }
        return bytes[offset...].contains(where: needsEscape)
    }

    /// The lowercase hexadecimal digit of a value under 16.
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of the value.
    public var description: String {
        JSONWriter.write(self)
    }
}
