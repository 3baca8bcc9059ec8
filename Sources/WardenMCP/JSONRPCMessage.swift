public import WardenJSON

/// One JSON-RPC 2.0 message, classified by its envelope. The parsed value is kept so a
/// message can be inspected, while forwarding always uses the original bytes.
public enum JSONRPCMessage: Sendable {
    /// A request: `id` and `method`.
    case request(id: JSONValue, method: String, body: JSONObject)
    /// A notification: `method`, no `id`.
    case notification(method: String, body: JSONObject)
    /// A response: `id` and `result` or `error`.
    case response(id: JSONValue, body: JSONObject)

    /// The reason a JSON value is not a JSON-RPC 2.0 message.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        /// What is wrong, for the error message.
        public var reason: String
        /// The request's id, when it has a usable one.
        public var id: JSONValue?
        public var description: String { reason }
    }

    /// Classifies `value`, or says why it is not a JSON-RPC 2.0 message.
    public init(_ value: JSONValue) throws(Invalid) {
        guard case .object(let body) = value else {
            throw Invalid(reason: "a JSON-RPC message must be an object, not \(value.typeName)")
        }
        let envelope = Envelope(body)
        let id = envelope.id
        if let id {
            switch id {
            case .string, .number: break
            case .null where envelope.method == nil: break  // an error response to an unreadable request
            default: throw Invalid(reason: "\"id\" must be a string or a number")
            }
        }
        guard envelope.jsonrpc == "2.0" else {
            throw Invalid(reason: "\"jsonrpc\" must be \"2.0\"", id: id)
        }
        if let method = envelope.method {
            guard case .string(let name) = method else { throw Invalid(reason: "\"method\" must be a string", id: id) }
            if let params = envelope.params {
                switch params {
                case .object, .array: break
                default: throw Invalid(reason: "\"params\" must be an object or an array", id: id)
                }
            }
            self = id.map { .request(id: $0, method: name, body: body) } ?? .notification(method: name, body: body)
            return
        }
        guard let id else { throw Invalid(reason: "a message needs \"method\" or \"id\"") }
        guard envelope.hasResult != envelope.hasError else {
            throw Invalid(reason: "a response needs exactly one of \"result\" and \"error\"", id: id)
        }
        self = .response(id: id, body: body)
    }

    /// The envelope's members, found in one pass over the object, keys compared byte for byte
    /// (the first of a repeated key, as a lookup by key finds).
    private struct Envelope {
        var jsonrpc: JSONValue?
        var id: JSONValue?
        var method: JSONValue?
        var params: JSONValue?
        var hasResult = false
        var hasError = false

        init(_ body: JSONObject) {
            for member in body.members {
                switch member.key.utf8.count {
                case 2 where id == nil && member.key.hasSameBytes(as: "id"): id = member.value
                case 5 where member.key.hasSameBytes(as: "error"): hasError = true
                case 6 where method == nil && member.key.hasSameBytes(as: "method"): method = member.value
                case 6 where params == nil && member.key.hasSameBytes(as: "params"): params = member.value
                case 6 where member.key.hasSameBytes(as: "result"): hasResult = true
                case 7 where jsonrpc == nil && member.key.hasSameBytes(as: "jsonrpc"): jsonrpc = member.value
                default: break
                }
            }
        }
    }
}

/// A JSON-RPC id as a dictionary key: its exact JSON text (`1` and `"1"` differ).
public struct RequestKey: Sendable, Hashable, CustomStringConvertible {
    /// The id's JSON text.
    public let text: String

    public init(_ id: JSONValue) {
        text = JSONWriter.write(id)
    }

    public var description: String { text }
}
