/// The `text/event-stream` framing of the MCP HTTP transports: one JSON-RPC message per event.
public enum ServerSentEvents {
    /// An event carrying `data` (one JSON-RPC message: a single line, as JSON has no raw
    /// newlines outside strings), with an optional event type and id.
    public static func event(data: some Collection<UInt8>, type: String? = nil, id: String? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(data.count + 32)
        if let type { bytes += Array("event: \(type)\n".utf8) }
        if let id { bytes += Array("id: \(id)\n".utf8) }
        bytes += Array("data: ".utf8)
        bytes += data
        bytes += Array("\n\n".utf8)
        return bytes
    }

    /// A comment line, which clients ignore: keeps idle connections open through proxies.
    public static let keepAlive: [UInt8] = Array(": keep-alive\n\n".utf8)
}

/// Reads a `text/event-stream` as its bytes arrive, yielding each complete event.
public struct ServerSentEventParser: Sendable {
    /// One event.
    public struct Event: Sendable, Equatable {
        /// `event:`; `message` when absent.
        public var type: String
        /// The `data:` lines, joined by newlines.
        public var data: [UInt8]
        /// `id:`, when given.
        public var id: String?

        public init(type: String = "message", data: [UInt8], id: String? = nil) {
            self.type = type
            self.data = data
            self.id = id
        }
    }

    /// The longest event kept, in bytes; longer ones are dropped whole.
    public let maxEventBytes: Int
    /// The id of the stream's last complete event (an id carries over to events without
    /// `id:`): where a client resumes with `Last-Event-ID`. An event cut off before its end
    /// does not count, so that resuming gets it again.
    public private(set) var lastEventID: String?
    /// The reconnection time the stream asked for (`retry:`), in milliseconds.
    public private(set) var retryMilliseconds: Int?
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var type: String?
    private var id: String?
    private var oversize = false
    private var afterCarriageReturn = false

    public init(maxEventBytes: Int) {
        self.maxEventBytes = maxEventBytes
    }

    /// Feeds bytes and returns the events they complete.
    public mutating func append(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if afterCarriageReturn {
                afterCarriageReturn = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                afterCarriageReturn = byte == UInt8(ascii: "\r")
                if let event = endLine() { events.append(event) }
            } else if line.count + data.count < maxEventBytes {
                line.append(byte)
            } else {
                oversize = true
            }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            lastEventID = id
            defer {
                data.removeAll()
                hasData = false
                type = nil
                oversize = false
            }
            guard hasData, !oversize else { return nil }
            return Event(type: type ?? "message", data: data, id: id)
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch field {
        case "data":
            if hasData { data.append(UInt8(ascii: "\n")) }
            data += value
            hasData = true
        case "event":
            type = String(decoding: value, as: UTF8.self)
        case "id" where !value.contains(0):
            id = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case "retry" where !value.isEmpty && value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }):
            retryMilliseconds = Int(String(decoding: value, as: UTF8.self))
        default:
            break
        }
        return nil
    }
}
