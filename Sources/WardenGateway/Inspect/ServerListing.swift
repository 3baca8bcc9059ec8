public import WardenCatalogue
public import WardenJSON

/// What a server told ``ServerInspector``: who it is, and every tool, resource and prompt it lists.
public struct ServerListing: Sendable {
    /// `serverInfo.name` of its `initialize` result, if given.
    public var name: String?
    /// `serverInfo.version`, if given.
    public var version: String?
    /// The protocol revision the server answered with.
    public var protocolVersion: String?
    /// The `instructions` the server gives clients, if any (a model reads them too).
    public var instructions: String?
    /// The server's declared capabilities.
    public var capabilities: JSONObject
    /// Every tool of every page, in the order listed.
    public var tools: [ToolDefinition]
    /// Every entry of every page of `resources/list`, as listed; empty when the server has none.
    public var resources: [JSONValue]
    /// Every entry of every page of `prompts/list`, as listed; empty when the server has none.
    public var prompts: [JSONValue]
    /// The lists that were cut off at the page bound (`tools/list`, …): more may exist.
    public var truncated: [String]
    /// The lists of resources or prompts the server answered with an error (`resources/list:
    /// error -32603: …`): left empty, since the tools are what matter.
    public var failed: [String] = []

    public init(
        name: String? = nil, version: String? = nil, protocolVersion: String? = nil, instructions: String? = nil,
        capabilities: JSONObject = JSONObject(), tools: [ToolDefinition] = [], resources: [JSONValue] = [],
        prompts: [JSONValue] = [], truncated: [String] = []
    ) {
        self.name = name
        self.version = version
        self.protocolVersion = protocolVersion
        self.instructions = instructions
        self.capabilities = capabilities
        self.tools = tools
        self.resources = resources
        self.prompts = prompts
        self.truncated = truncated
    }
}
