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
    /// Every string value of a top-level `method` key, unescaped: more than one in a message
    /// with duplicate keys.
    public var methods: [String]
    /// Every string value of a `params.name` key, unescaped (one over 256 bytes is cut, and
    /// ends with `…`): for a `tools/call` that cannot be read whole, the tools it names or
    /// seems to name, for the audit log.
    public var toolNames: [String]

    public init(
        length: Int, id: JSONValue? = nil, hasMethod: Bool = false, isBatch: Bool = false, methods: [String] = [],
        toolNames: [String] = []
    ) {
        self.length = length
        self.id = id
        self.hasMethod = hasMethod
        self.isBatch = isBatch
        self.methods = methods
        self.toolNames = toolNames
    }
}

/// Finds the top-level `id` and `method` members of a JSON object (and `params.name`) as its
/// bytes stream past, without keeping them: an over-size message is dropped, but its request
/// still deserves an answer with the right id, and a refused `tools/call` an audit entry naming
/// its tool; and an HTTP session routes answers by id without parsing them. Tracks only
/// nesting, strings and the keys of the top level and of `params`; it does not validate.
public struct EnvelopeScanner: Sendable {
    private static let longestID = 256
    private static let longestName = 256
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
    /// Which string value is being captured: a top-level `method`, or `params.name`.
    private enum Capture { case none, method, name }
    private var stringCapture = Capture.none
    private var methodFollows = false
    private var nameFollows = false
    /// Whether the current depth-2 object is the top-level `params`.
    private var paramsFollows = false
    private var inParams = false
    private var methods: [String] = []
    private var names: [String] = []
    private var stringBytes: [UInt8] = []

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
                    if depth == 1 {
                        idFollows = key == Array("id".utf8)
                        methodFollows = key == Array("method".utf8)
                        paramsFollows = key == Array("params".utf8)
                        if methodFollows { hasMethod = true }
                    } else {
                        nameFollows = key == Array("name".utf8)
                    }
                } else {
                    switch stringCapture {
                    case .method: methods.append(Self.unescaped(stringBytes))
                    case .name: names.append(Self.unescaped(stringBytes))
                    case .none: break
                    }
                    stringCapture = .none
                }
                return
            }
            if readingKey && key.count <= 6 { key.append(byte) }
            if stringCapture != .none && stringBytes.count <= Self.longestName { stringBytes.append(byte) }
            return
        }
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
            if (depth == 1 || (depth == 2 && inParams)) && expectingKey {
                expectingKey = false
                readingKey = true
                key.removeAll(keepingCapacity: true)
            } else if depth == 1 && methodFollows || depth == 2 && inParams && nameFollows {
                stringCapture = depth == 1 ? .method : .name
                stringBytes.removeAll(keepingCapacity: true)
            }
            methodFollows = false
            nameFollows = false
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if depth == 0 {
                topLevelIsObject = byte == UInt8(ascii: "{")
                isBatch = !topLevelIsObject
            }
            depth += 1
            if depth == 1 { expectingKey = topLevelIsObject }
            if depth == 2 {
                inParams = paramsFollows && byte == UInt8(ascii: "{")
                expectingKey = inParams
            }
            paramsFollows = false
            methodFollows = false
            nameFollows = false
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if depth == 1 { endValue() }
            if depth == 2 { inParams = false }
            depth -= 1
        case UInt8(ascii: ","):
            if depth == 1 {
                endValue()
                expectingKey = topLevelIsObject
            } else if depth == 2 && inParams {
                expectingKey = true
            }
            methodFollows = false
            nameFollows = false
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

    /// A captured string's text: its escapes resolved when it is whole and valid JSON, else
    /// its bytes as they are (invalid UTF-8 shown as U+FFFD); one cut at the limit ends in `…`.
    private static func unescaped(_ bytes: [UInt8]) -> String {
        guard bytes.count <= longestName else { return String(decoding: bytes.prefix(longestName), as: UTF8.self) + "…" }
        if bytes.contains(UInt8(ascii: "\\")), case .string(let text)? = try? JSONReader.parse([UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")]) {
            return text
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What was found, once the message has ended.
    public func result() -> MessageEnvelope {
        var id: JSONValue?
        if topLevelIsObject, ids.count == 1, let value = try? JSONReader.parse(ids[0]) {
            switch value {
            case .string, .number: id = value
            default: break
            }
        }
        return MessageEnvelope(
            length: length, id: id, hasMethod: topLevelIsObject && hasMethod, isBatch: isBatch,
            methods: topLevelIsObject ? methods : [], toolNames: topLevelIsObject ? names : [])
    }
}
