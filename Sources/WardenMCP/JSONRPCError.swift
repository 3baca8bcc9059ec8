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

    /// The answer to a call of tool `name` that the caller may not make: the same whether
    /// the server lacks the tool or Warden hides it, so the caller learns nothing more.
    public static func unknownTool(id: JSONValue, name: String) -> [UInt8] {
        response(id: id, code: invalidParams, message: Refusal.unknownTool(name))
    }

    /// The answer to a request whose id repeats one still in progress.
    public static func requestInProgress(id: JSONValue, key: RequestKey) -> [UInt8] {
        response(id: id, code: invalidRequest, message: Refusal.requestInProgress(key))
    }

    /// The wording of refusals Warden gives in more than one place, written once.
    public enum Refusal {
        /// A call of a tool the caller may not see.
        public static func unknownTool(_ name: String) -> String { "Unknown tool: \(name)" }
        /// A request whose id repeats one still in progress.
        public static func requestInProgress(_ key: RequestKey) -> String {
            "Invalid Request: a request with id \(key.text) is already in progress"
        }
        /// A `tools/call` without a tool name.
        public static let toolCallWithoutName = "Invalid params: tools/call needs params.name, a string"
        /// A batch with no message.
        public static let emptyBatch = "Invalid Request: empty batch"
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
