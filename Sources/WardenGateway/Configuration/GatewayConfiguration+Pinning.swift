public import WardenCatalogue
import WardenJSON
import WardenPolicy

extension GatewayConfiguration {
    /// Pinning of tool definitions against rug pulls, and poisoning checks: `pin:`, `on_drift:`,
    /// `on_poisoning:` and `poisoning_severity:` at the top of the configuration, the last
    /// three also per server.
    ///
    /// ```yaml
    /// pin: warden.lock            # written by `warden pin --config warden.yaml`
    /// on_drift: block             # block | require_approval | log
    /// on_poisoning: require_approval
    /// servers:
    ///   git: {command: [mcp-server-git], policy: git.yaml, on_drift: require_approval}
    /// ```
    public struct Pinning: Sendable, Equatable {
        /// The lock file (relative paths are relative to the configuration file); `nil` for no pinning.
        public var lockPath: String?
        /// What happens to a tool whose definition drifted from its pin. The default is `block`.
        public var onDrift: ToolDefinitionGuard.Action = .block
        /// What happens to a tool with a poisoning finding; `nil` (the default) for no poisoning checks.
        public var onPoisoning: ToolDefinitionGuard.Action?
        /// The least severity of a finding that counts. The default is `high`.
        public var poisoningSeverity: Severity = .high

        public init() {}
    }

    /// The keys of the top level this file reads.
    static let pinningKeys = ["pin", "on_drift", "on_poisoning", "poisoning_severity"]
    /// The keys of a server this file reads.
    static let serverPinningKeys = ["on_drift", "on_poisoning"]

    /// The guard settings of `server`: the gateway's, with the server's own `on_drift` and
    /// `on_poisoning` over them.
    public func guardConfiguration(for server: Server, pins: PinBook?) -> ToolDefinitionGuard.Configuration {
        ToolDefinitionGuard.Configuration(
            server: server.name, pins: pins, onDrift: server.onDrift ?? pinning.onDrift,
            onPoisoning: server.onPoisoning ?? pinning.onPoisoning, poisoningSeverity: pinning.poisoningSeverity)
    }
}

extension GatewayConfiguration.Loader {
    /// `pin`, `on_drift`, `on_poisoning` and `poisoning_severity` of the top level.
    mutating func pinning(_ object: JSONObject, at root: JSONPointer) -> GatewayConfiguration.Pinning {
        var pinning = GatewayConfiguration.Pinning()
        if let value = object["pin"], let path = string(value, at: root.appending("pin")) { pinning.lockPath = resolve(path) }
        if let value = object["on_drift"], let action = decoder.choice(value, at: root.appending("on_drift"), as: ToolDefinitionGuard.Action.self) {
            pinning.onDrift = action
        }
        if let value = object["on_poisoning"],
            let action = decoder.choice(value, at: root.appending("on_poisoning"), as: ToolDefinitionGuard.Action.self)
        {
            pinning.onPoisoning = action
        }
        if let value = object["poisoning_severity"],
            let severity = decoder.choice(value, at: root.appending("poisoning_severity"), as: Severity.self)
        {
            pinning.poisoningSeverity = severity
        }
        if object["on_drift"] != nil && pinning.lockPath == nil {
            decoder.report("on_drift needs a lock file: add pin: warden.lock (see `warden pin`) at /on_drift", at: root.appending("on_drift"))
        }
        return pinning
    }

    /// A server's own `on_drift` and `on_poisoning`.
    mutating func pinningOverrides(_ object: JSONObject, at pointer: JSONPointer) -> (onDrift: ToolDefinitionGuard.Action?, onPoisoning: ToolDefinitionGuard.Action?) {
        let onDrift = object["on_drift"].flatMap { decoder.choice($0, at: pointer.appending("on_drift"), as: ToolDefinitionGuard.Action.self) }
        let onPoisoning = object["on_poisoning"].flatMap { decoder.choice($0, at: pointer.appending("on_poisoning"), as: ToolDefinitionGuard.Action.self) }
        return (onDrift, onPoisoning)
    }
}
