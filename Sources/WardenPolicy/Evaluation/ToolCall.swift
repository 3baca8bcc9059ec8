public import WardenJSON

/// Who is calling: the identity a grant or token maps to.
public struct Identity: Sendable, Hashable {
    /// The identity's name (`identity.name`).
    public var name: String
    /// The grant the call came with (`identity.grant`), if any.
    public var grant: String?
    /// Labels policies can test (`identity.labels.team`).
    public var labels: [String: String]

    public init(name: String, grant: String? = nil, labels: [String: String] = [:]) {
        self.name = name
        self.grant = grant
        self.labels = labels
    }

    /// The identity of local, unauthenticated use (`warden run`, `warden policy eval`).
    public static let local = Identity(name: "local")
}

/// The facts of one `tools/call` that a policy decides on.
public struct ToolCall: Sendable {
    /// The tool's name exactly as the client sent it.
    public var tool: String
    /// The call's `arguments` (an empty object when the client sent none).
    public var arguments: JSONObject
    /// Who is calling.
    public var identity: Identity
    /// The server the call is for, if known.
    public var server: String?
    /// The session the call belongs to, if any.
    public var session: String?
    /// The tool's own input schema, compiled, when the caller knows it (`validate_input`).
    public var inputSchema: ArgumentSchema?

    public init(
        tool: String,
        arguments: JSONObject = JSONObject(),
        identity: Identity = .local,
        server: String? = nil,
        session: String? = nil,
        inputSchema: ArgumentSchema? = nil
    ) {
        self.tool = tool
        self.arguments = arguments
        self.identity = identity
        self.server = server
        self.session = session
        self.inputSchema = inputSchema
    }
}
