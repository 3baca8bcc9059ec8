public import WardenJSON

/// A message's length, top-level `id` and whether it has a `method`: enough to answer or
/// route it without reading it whole.
public struct MessageEnvelope: Sendable, Equatable {
    /// Its length in bytes.
    public var length: Int
    /// Its top-level `id`, when it has exactly one short, valid one.
    public var id: JSONValue?
    /// Whether it has a top-level `method` (a request or notification, not a response).
    public var hasMethod: Bool
    /// Whether it is an array (a batch); then `id` and `hasMethod` say nothing.
    public var isBatch: Bool

    public init(length: Int, id: JSONValue? = nil, hasMethod: Bool = false, isBatch: Bool = false) {
        self.length = length
        self.id = id
        self.hasMethod = hasMethod
        self.isBatch = isBatch
    }
}

/// Finds the top-level `id` and `method` members of a JSON object as its bytes stream past,
/// without keeping them: an over-size message is dropped, but its request still deserves an
/// answer with the right id; and an HTTP session routes answers by id without parsing them.
/// Tracks only nesting, strings and top-level keys; it does not validate.
public struct EnvelopeScanner: Sendable {
    private static let longestID = 256
    private var length = 0
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var topLevelIsObject = false
    private var expectingKey = false
    private var readingKey = false
    private var key: [UInt8] = []
    private var idFollows = false
    private var capturing = false
    private var captured: [UInt8] = []
    private var ids: [[UInt8]] = []
    private var hasMethod = false

    public init() {}

    /// The envelope of one whole message. (An array rather than any collection: callers in
    /// other modules would otherwise get the unspecialized generic, a witness call per byte.)
    public static func envelope(of message: [UInt8]) -> MessageEnvelope {
        var scanner = EnvelopeScanner()
        scanner.scan(message)
        return scanner.result()
    }

    /// Scans the next bytes of the message.
    public mutating func scan(_ bytes: some Collection<UInt8>) {
        length += bytes.count
        for byte in bytes { scan(byte) }
    }

    private mutating func scan(_ byte: UInt8) {
        if capturing && !(depth == 1 && !inString && (byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}"))) {
            captured.append(byte)
            if captured.count > Self.longestID { capturing = false }
        }
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
                if readingKey {
                    readingKey = false
                    idFollows = key == Array("id".utf8)
                    if key == Array("method".utf8) { hasMethod = true }
                }
                return
            }
            if readingKey && key.count <= 6 { key.append(byte) }
            return
        }
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
            if depth == 1 && expectingKey {
                expectingKey = false
                readingKey = true
                key.removeAll(keepingCapacity: true)
            }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if depth == 0 {
                topLevelIsObject = byte == UInt8(ascii: "{")
                isBatch = !topLevelIsObject
            }
            depth += 1
            if depth == 1 { expectingKey = topLevelIsObject }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if depth == 1 { endValue() }
            depth -= 1
        case UInt8(ascii: ","):
            if depth == 1 {
                endValue()
                expectingKey = topLevelIsObject
            }
        case UInt8(ascii: ":"):
            if depth == 1 && idFollows {
                idFollows = false
                capturing = true
                captured.removeAll(keepingCapacity: true)
            }
        default:
            break
        }
    }

    private mutating func endValue() {
        if capturing { ids.append(captured) }
        capturing = false
    }

    private var isBatch = false

    /// What was found, once the message has ended.
    public func result() -> MessageEnvelope {
        var id: JSONValue?
        if topLevelIsObject, ids.count == 1, let value = try? JSONReader.parse(ids[0]) {
            switch value {
            case .string, .number: id = value
            default: break
            }
        }
        return MessageEnvelope(length: length, id: id, hasMethod: topLevelIsObject && hasMethod, isBatch: isBatch)
    }
}
