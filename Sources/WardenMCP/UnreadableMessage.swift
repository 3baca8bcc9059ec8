public import WardenJSON

/// How Warden answers a message it could not read: duplicate keys, nesting too deep or bad
/// encoding make it ambiguous (-32600 Invalid Request, whose id may still be read); anything
/// else is a syntax error (-32700 Parse error, whose id cannot be trusted).
public struct UnreadableMessage: Sendable {
    /// -32600 or -32700.
    public let code: Int
    /// The error's message, naming the problem.
    public let message: String

    public init(_ error: JSONReadError) {
        switch error.kind {
        case .duplicateKey, .tooDeep, .invalidUTF8, .byteOrderMark, .invalidUnicodeEscape:
            code = JSONRPCError.invalidRequest
            message = "Invalid Request: \(error)"
        default:
            code = JSONRPCError.parseError
            message = "Parse error: \(error)"
        }
    }

    /// Whether the message is well-formed but ambiguous, so that its id can be read.
    public var hasReadableID: Bool { code == JSONRPCError.invalidRequest }
}
