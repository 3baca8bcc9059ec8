public import WardenJSON

/// The `Mcp-Param-*` headers of the stateless revision (2026-07-28): a tool's input schema
/// may annotate a property with `"x-mcp-header": "<Token>"`, and a `tools/call` then mirrors
/// that argument in the header `Mcp-Param-<Token>`, so intermediaries can route on it. The
/// header and the argument must agree, or the request is refused (-32020) before it goes on.
public enum MCPParamHeaders {
    /// One annotated property: where it is in the arguments, and its header.
    public struct Declaration: Sendable, Equatable {
        /// The chain of `properties` keys from the schema's root.
        public var path: [String]
        /// The header is `Mcp-Param-<token>`.
        public var token: String
        /// The property's JSON Schema `type`, if it names one.
        public var type: String?

        public init(path: [String], token: String, type: String?) {
            self.path = path
            self.token = token
            self.type = type
        }

        public var headerName: String { "Mcp-Param-" + token }
    }

    /// The annotated properties of `inputSchema` reachable through `properties` alone (the
    /// only positions a client can mirror statically). Annotations that are not header tokens,
    /// or sit on types other than string, integer and boolean, are ignored.
    public static func declarations(in inputSchema: JSONValue) -> [Declaration] {
        var found: [Declaration] = []
        var stack: [(path: [String], schema: JSONValue, depth: Int)] = [([], inputSchema, 0)]
        while let (path, schema, depth) = stack.popLast() {
            guard case .object(let object) = schema else { continue }
            if !path.isEmpty, case .string(let token)? = object["x-mcp-header"], isToken(token) {
                let type = object["type"]?.stringValue
                if type == nil || ["string", "integer", "boolean"].contains(type!) {
                    found.append(Declaration(path: path, token: token, type: type))
                }
            }
            guard depth < 32, case .object(let properties)? = object["properties"] else { continue }
            for member in properties.members.reversed() { stack.append((path + [member.key], member.value, depth + 1)) }
        }
        return found
    }

    /// Why the `Mcp-Param-*` headers of a call disagree with its arguments, or `nil` when they
    /// agree: each declared header present exactly when its argument is (null counts as
    /// absent), once, and equal to it.
    public static func mismatch(
        _ declarations: [Declaration], arguments: JSONObject, headers: [(name: String, value: String)]
    ) -> String? {
        for declaration in declarations {
            let name = declaration.headerName
            let values = headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
            let argument = declaration.path.joined(separator: ".")
            if values.count > 1 { return "The \(name) header appears more than once" }
            let value = Self.value(at: declaration.path, in: arguments)
            guard let value, value != .null else {
                if !values.isEmpty { return "The \(name) header is present but the argument \(argument) is absent" }
                continue
            }
            guard let rendered = render(value) else {
                if !values.isEmpty { return "The \(name) header does not match the argument \(argument)" }
                continue
            }
            guard let raw = values.first else { return "The \(name) header is missing but the argument \(argument) is present" }
            guard let decoded = decode(raw) else { return "The \(name) header carries a malformed base64 value" }
            guard matches(decoded, value: value, rendered: rendered, type: declaration.type) else {
                return "The \(name) header does not match the argument \(argument)"
            }
        }
        return nil
    }

    // MARK: - Values

    private static func value(at path: [String], in arguments: JSONObject) -> JSONValue? {
        var node = JSONValue.object(arguments)
        for key in path {
            guard case .object(let object) = node, let next = object[key] else { return nil }
            node = next
        }
        return node
    }

    /// How a client renders an argument in its header: strings as they are, booleans as
    /// `true`/`false`, numbers as written; nothing for objects and arrays.
    private static func render(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): number.text
        default: nil
        }
    }

    /// A header value, with the `=?base64?…?=` form (for values that are not plain ASCII) decoded.
    private static func decode(_ raw: String) -> String? {
        let value = String(raw.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let payload = String(value.dropFirst(9).dropLast(2))
        return Base64.decode(payload).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// Integers compare by value (`42` matches `42.0`); everything else as rendered text.
    private static func matches(_ decoded: String, value: JSONValue, rendered: String, type: String?) -> Bool {
        if type == "integer", case .number(let number) = value, let header = JSONNumber(decoded),
            decoded.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "." })
        {
            return header == number
        }
        return decoded == rendered
    }

    /// RFC 9110 token characters: what may follow `Mcp-Param-` in a header name.
    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }
    }
}

/// Standard base64 decoding without Foundation.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8).enumerated() {
            table[Int(byte)] = Int8(index)
        }
        var bytes: [UInt8] = []
        var buffer = 0
        var bits = 0
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, table[Int(byte)] >= 0 else { return nil }
            buffer = (buffer << 6) | Int(table[Int(byte)])
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((buffer >> bits) & 0xFF))
            }
        }
        return padding <= 2 ? bytes : nil
    }
}
