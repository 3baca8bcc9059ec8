import HTTPTypes
import WardenJSON
import WardenMCP

/// The stateless revision of MCP (2026-07-28): no handshake and no session; every request
/// carries its protocol version and the client's capabilities in `params._meta`, and the
/// `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers repeat what routing needs.
enum StatelessExchange {
    static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    /// A routing header disagrees with the body (-32020).
    static let headerMismatch = -32020
    /// The requested revision is not served (-32022); `data` names the supported ones.
    static let unsupportedProtocolVersion = -32022
    /// The `inputRequests` key under which a server's own request is passed to the caller.
    static let serverRequestKey = "server_request"

    /// The client capability a caller needs to answer a server's request `method`; `nil`
    /// for requests a caller is never asked.
    static func capability(answering method: String) -> String? {
        ["sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"][method]
    }

    /// The body field each name-bearing method mirrors in `Mcp-Name`.
    static let nameFields = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]

    /// Whether a message without a session is a stateless request: it carries the per-request
    /// protocol version, or names a stateless revision in its header.
    static func isStateless(_ value: JSONValue, headers: HTTPFields) -> Bool {
        if value["params"]?["_meta"]?[protocolVersionKey] != nil { return true }
        return headers.value(.mcpProtocolVersion).map(ProtocolVersions.stateless.contains) ?? false
    }

    /// A refusal: the JSON-RPC error and the HTTP status it goes with.
    struct Refusal: Error {
        var code: Int
        var message: String
        var data: JSONValue?

        var status: HTTPResponse.Status {
            switch code {
            case JSONRPCError.methodNotFound: .notFound
            case JSONRPCError.internalError: .ok
            default: .badRequest
            }
        }

        func response(id: JSONValue?) -> [UInt8] {
            var error = JSONObject([.init(key: "code", value: .number(JSONNumber(code))), .init(key: "message", value: .string(message))])
            if let data { error.set("data", to: data) }
            return Array(JSONWriter.write(["jsonrpc": "2.0", "id": id ?? .null, "error": .object(error)]).utf8)
        }
    }

    /// Checks a request's envelope and routing headers, in the order the specification's
    /// reference SDK does: `_meta` keys, then headers against the body, then the version.
    static func check(_ body: JSONObject, headers: HTTPFields) throws(Refusal) {
        guard case .object(let meta)? = body["params"]?["_meta"] else {
            throw Refusal(code: JSONRPCError.invalidParams, message: "params._meta must be an object carrying \(protocolVersionKey) and \(clientCapabilitiesKey)")
        }
        let missing = [protocolVersionKey, clientCapabilitiesKey].filter { meta[$0] == nil }
        guard missing.isEmpty else {
            throw Refusal(code: JSONRPCError.invalidParams, message: "params._meta is missing \(missing.joined(separator: ", "))")
        }
        let version = meta[protocolVersionKey]
        guard let header = headers.value(.mcpProtocolVersion), version == .string(header) else {
            throw Refusal(code: headerMismatch, message: "The MCP-Protocol-Version header does not match the request's protocol version")
        }
        let method = body["method"]?.stringValue
        guard let method, headers.value(.mcpMethod) == method else {
            throw Refusal(code: headerMismatch, message: "The Mcp-Method header does not match the request's method")
        }
        if let field = nameFields[method], case .string(let name)? = body["params"]?[field], headers.value(.mcpName) != name {
            throw Refusal(code: headerMismatch, message: "The Mcp-Name header does not match the request's \(field)")
        }
        guard ProtocolVersions.stateless.contains(header) else {
            throw Refusal(
                code: unsupportedProtocolVersion, message: "Unsupported protocol version",
                data: ["supported": .array(ProtocolVersions.stateless.map(JSONValue.string)), "requested": .string(header)])
        }
    }

    /// The request as a handshake-era server expects it: without the per-request protocol
    /// keys (`io.modelcontextprotocol/…`) in `params._meta`, which such servers refuse.
    static func handshakeEra(_ body: JSONObject) -> JSONObject {
        guard case .object(var params)? = body["params"], case .object(var meta)? = params["_meta"] else { return body }
        meta.members.removeAll { $0.key.hasPrefix("io.modelcontextprotocol/") }
        if meta.members.isEmpty {
            params.members.removeAll { $0.key == "_meta" }
        } else {
            params.set("_meta", to: .object(meta))
        }
        var translated = body
        translated.set("params", to: .object(params))
        return translated
    }

    /// The answer of a stateful server, dressed for the stateless revision: the client's own
    /// id back, `resultType`, and for `tools/list` (filtered per caller) a private cache scope.
    /// `read` is `answer` as read already (`nil` when it could not be).
    static func answer(_ answer: [UInt8], read: JSONValue?, id: JSONValue, method: String) -> [UInt8] {
        guard case .object(var body)? = read else { return answer }
        body.set("id", to: id)
        if case .object(var result)? = body["result"] {
            if result["resultType"] == nil { result.set("resultType", to: "complete") }
            if method == "tools/list" {
                result.set("cacheScope", to: "private")
                if result["ttlMs"] == nil { result.set("ttlMs", to: 0) }
            }
            body.set("result", to: .object(result))
        }
        return Array(JSONWriter.write(.object(body)).utf8)
    }
}
