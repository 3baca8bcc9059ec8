import WardenJSON

extension LockFile {
    /// Reads a lock file written by ``encoded()``. Anything unexpected is an error, never
    /// skipped: a lock file that cannot be read whole must not pin less than it says.
    /// - Parameter file: The file's path, for error messages.
    /// - Throws: ``LockFileError``.
    public init(bytes: some Collection<UInt8>, file: String? = nil) throws(LockFileError) {
        func fail(_ kind: LockFileError.Kind, _ detail: String) -> LockFileError {
            LockFileError(kind, file: file, detail: detail)
        }
        let value: JSONValue
        do {
            value = try JSONReader.parse(Array(bytes), configuration: .init(maxDepth: 256))
        } catch {
            throw fail(.notJSON, "it is not valid JSON (\(error))")
        }
        guard case .object(let root) = value else { throw fail(.malformed, "it is not a JSON object") }
        for key in root.keys where !["version", "servers"].contains(key) {
            throw fail(.malformed, "unknown key \"\(key)\" at /")
        }
        guard let version = root["version"] else { throw fail(.malformed, "it has no \"version\"") }
        guard version.numberValue?.text == String(LockFile.formatVersion) else {
            throw fail(.unsupportedVersion, "version \(JSONWriter.write(version)) is not the version this Warden reads (\(LockFile.formatVersion))")
        }
        guard case .object(let serverObjects)? = root["servers"] else { throw fail(.malformed, "\"servers\" must be an object") }
        var servers: [String: Server] = [:]
        for member in serverObjects.members {
            let pointer = JSONPointer.root.appending("servers").appending(member.key)
            guard case .object(let serverObject) = member.value, serverObject.keys == ["tools"],
                case .object(let toolObjects)? = serverObject["tools"]
            else { throw fail(.malformed, "a server must be {\"tools\": {...}} at \(pointer)") }
            var server = Server()
            for tool in toolObjects.members {
                server.tools[ExactName(tool.key)] = try Self.tool(tool.key, tool.value, at: pointer.appending("tools").appending(tool.key), fail: fail)
            }
            servers[member.key] = server
        }
        self.init(servers: servers)
    }

    private static func tool(
        _ name: String, _ value: JSONValue, at pointer: JSONPointer, fail: (LockFileError.Kind, String) -> LockFileError
    ) throws(LockFileError) -> Tool {
        guard case .object(let object) = value else { throw fail(.malformed, "a tool must be an object at \(pointer)") }
        for key in object.keys where !["sha256", "definition"].contains(key) {
            throw fail(.malformed, "unknown key \"\(key)\" at \(pointer)")
        }
        guard let hash = object["sha256"]?.stringValue, hash.utf8.count == 64,
            hash.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        else { throw fail(.malformed, "\"sha256\" must be 64 lowercase hex digits at \(pointer)") }
        guard let entry = object["definition"] else { return Tool(name: name, sha256: hash, definition: nil) }
        guard let definition = ToolDefinition(listEntry: entry), definition.name.hasSameBytes(as: name) else {
            throw fail(.malformed, "the definition must be an object whose \"name\" is the tool's, at \(pointer)/definition")
        }
        guard definition.canonicalValue == entry else {
            throw fail(.malformed, "the definition has members a tool definition does not, or of the wrong type, at \(pointer)/definition")
        }
        guard definition.fingerprint == hash else {
            throw fail(.hashMismatch, "the definition at \(pointer)/definition hashes to \(definition.fingerprint), not the recorded \(hash) (edited by hand?)")
        }
        return Tool(name: name, sha256: hash, definition: definition)
    }
}
