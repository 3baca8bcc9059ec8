/// Replaces the top-level `id` of a JSON-RPC message in its bytes, leaving every other byte
/// as it was: how Warden sends a client's request under an id of its own, and its answer back
/// under the client's id, without re-encoding either.
public enum MessageID {
    /// `message` with the bytes in `range` (its id's, from ``valueRange(ofTopLevelID:)``)
    /// replaced by `newID` (JSON text).
    public static func replacing(_ range: Range<Int>, in message: [UInt8], with newID: [UInt8]) -> [UInt8] {
        var replaced: [UInt8] = []
        replaced.reserveCapacity(message.count - range.count + newID.count)
        replaced += message[..<range.lowerBound]
        replaced += newID
        replaced += message[range.upperBound...]
        return replaced
    }

    /// The byte range of the top-level `id` member's value, whitespace excluded; `nil` if the
    /// message is not an object, has no `id`, or spells a top-level key with escapes (which
    /// could spell `id`): then re-encode the message instead. `message` must be valid JSON
    /// (already parsed).
    public static func valueRange(ofTopLevelID message: [UInt8]) -> Range<Int>? {
        message.withUnsafeBufferPointer { bytes in
            var index = skipWhitespace(bytes, from: 0)
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
            index += 1
            while true {
                index = skipWhitespace(bytes, from: index)
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
                let keyStart = index + 1
                guard let keyEnd = endOfString(bytes, from: index) else { return nil }
                let key = UnsafeBufferPointer(rebasing: bytes[keyStart..<keyEnd - 1])
                if key.contains(UInt8(ascii: "\\")) { return nil }
                index = skipWhitespace(bytes, from: keyEnd)
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index = skipWhitespace(bytes, from: index + 1)
                let valueStart = index
                guard let valueEnd = endOfValue(bytes, from: index) else { return nil }
                if key.count == 2, key[0] == UInt8(ascii: "i"), key[1] == UInt8(ascii: "d") {
                    return valueStart..<valueEnd
                }
                index = skipWhitespace(bytes, from: valueEnd)
                guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
                index += 1
            }
        }
    }

    private static func skipWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return index
            }
        }
        return index
    }

    /// The index just past the string starting at `start` (its opening quote).
    private static func endOfString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return nil
    }

    /// The index just past the value starting at `start`.
    private static func endOfValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return endOfString(bytes, from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = endOfString(bytes, from: index) else { return nil }
                    index = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default: break
                }
                index += 1
            }
            return nil
        default:
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D: return index
                default: index += 1
                }
            }
            return nil
        }
    }
}
