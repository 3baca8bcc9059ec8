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
