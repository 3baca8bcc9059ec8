public import WardenJSON

/// JSON-RPC error responses Warden sends itself.
public enum JSONRPCError {
    /// Invalid JSON was received (-32700).
    public static let parseError = -32700
    /// The JSON is not a valid request, or is ambiguous (duplicate keys, too deep, too large) (-32600).
    public static let invalidRequest = -32600
    /// The method is not served here (-32601).
    public static let methodNotFound = -32601
    /// Invalid method parameters; also "Unknown tool" (-32602).
    public static let invalidParams = -32602
    /// Internal error: the server went away, the store failed (-32603).
    public static let internalError = -32603
    /// The client cancelled the request (-32800, LSP's RequestCancelled).
    public static let requestCancelled = -32800

    /// The bytes of an error response (no trailing newline).
    public static func response(id: JSONValue?, code: Int, message: String) -> [UInt8] {
        var bytes: [UInt8] = []
        JSONWriter.write(.object(object(id: id, code: code, message: message)), to: &bytes)
        return bytes
    }

    /// An error response as a value.
    public static func object(id: JSONValue?, code: Int, message: String) -> JSONObject {
        let error: JSONValue = ["code": .number(JSONNumber(code)), "message": .string(message)]
        return JSONObject([.init(key: "jsonrpc", value: "2.0"), .init(key: "id", value: id ?? .null), .init(key: "error", value: error)])
    }
}

/// JSON-RPC batches (arrays of messages).
public enum JSONRPCBatch {
    /// A JSON array of messages, each already encoded.
    public static func joining(_ messages: [[UInt8]]) -> [UInt8] {
        var payload: [UInt8] = [UInt8(ascii: "[")]
        payload.reserveCapacity(messages.reduce(2) { $0 + $1.count + 1 })
        for (index, message) in messages.enumerated() {
            if index > 0 { payload.append(UInt8(ascii: ",")) }
            payload += message
        }
        payload.append(UInt8(ascii: "]"))
        return payload
    }
}
