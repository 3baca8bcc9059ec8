public import WardenJSON

/// What `warden pin` approved: per server, each tool's name and the SHA-256 of its canonical
/// definition (``ToolDefinition/fingerprint``), with the definition itself so that drift can be
/// shown as a diff without the old server. Read with ``LockFile/init(bytes:)``, written with
/// ``LockFile/encoded()``.
///
/// ```json
/// {"version": 1, "servers": {"git": {"tools": {"git_status": {"sha256": "…", "definition": {…}}}}}}
/// ```
public struct LockFile: Sendable, Equatable {
    /// The version of the format this Warden reads and writes.
    public static let formatVersion = 1

    /// One pinned tool.
    public struct Tool: Sendable, Equatable {
        /// The tool's name, exactly as listed.
        public var name: String
        /// The SHA-256 (lowercase hex) of its canonical definition.
        public var sha256: String
        /// The definition that was pinned; `nil` in a lock file that kept only the hash.
        public var definition: ToolDefinition?

        /// A pin of `definition` as it is now.
        public init(_ definition: ToolDefinition) {
            self.name = definition.name
            self.sha256 = definition.fingerprint
            self.definition = definition
        }

        /// A pin from its parts.
        public init(name: String, sha256: String, definition: ToolDefinition?) {
            self.name = name
            self.sha256 = sha256
            self.definition = definition
        }
    }

    /// The pinned tools of one server, by exact name.
    public struct Server: Sendable, Equatable {
        public var tools: [ExactName: Tool]

        /// A server's pins: every tool in `definitions`.
        public init(_ definitions: [ToolDefinition] = []) {
            tools = Dictionary(definitions.map { (ExactName($0.name), Tool($0)) }, uniquingKeysWith: { _, last in last })
        }

        /// The tool named `name`, matched byte for byte.
        public subscript(name: String) -> Tool? {
            tools[ExactName(name)]
        }
    }

    /// The servers, by name.
    public var servers: [String: Server]

    public init(servers: [String: Server] = [:]) {
        self.servers = servers
    }

    /// Pins `definition` on `server`, replacing any earlier pin of its name.
    public mutating func pin(_ definition: ToolDefinition, server: String) {
        servers[server, default: Server()].tools[ExactName(definition.name)] = Tool(definition)
    }

    /// Removes the pin of tool `name` on `server` (a tool the server no longer lists).
    public mutating func unpin(_ name: String, server: String) {
        servers[server]?.tools.removeValue(forKey: ExactName(name))
    }
}
