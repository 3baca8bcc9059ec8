public import WardenJSON

extension LockFile {
    /// The lock file as JSON: servers and tools sorted by name, each tool's hash and
    /// definition; indented, ending with a newline. Two writes of the same pins are the same bytes.
    public func encoded() -> [UInt8] {
        Array((PrettyJSON.write(jsonValue) + "\n").utf8)
    }

    /// The lock file as one JSON value (see ``encoded()``).
    public var jsonValue: JSONValue {
        var serverObjects = JSONObject()
        for (name, server) in servers {
            var tools = JSONObject()
            for tool in server.tools.values {
                var entry = JSONObject()
                entry.set("sha256", to: .string(tool.sha256))
                if let definition = tool.definition { entry.set("definition", to: definition.canonicalValue) }
                tools.set(tool.name, to: .object(entry))
            }
            serverObjects.set(name, to: ["tools": .object(tools)])
        }
        return ["version": .number(JSONNumber(LockFile.formatVersion)), "servers": .object(serverObjects)]
    }
}
