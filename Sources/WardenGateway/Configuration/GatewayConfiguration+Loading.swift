import Foundation
import WardenJSON
public import WardenPolicy
import WardenStore

extension GatewayConfiguration {
    static let keys = ["version", "listen", "store", "limits", "servers", "aggregation", "auth", "approvals", "audit"] + pinningKeys
    static let jwtKeys = [
        "jwks_file", "jwks_url", "jwks_refetch_interval", "issuer", "audience", "identity_claim", "label_claims", "servers", "policy",
    ]
    static let listenKeys = [
        "host", "port", "allowed_origins", "allowed_hosts", "anonymous", "header_timeout", "body_timeout", "idle_timeout", "max_connections",
        "instance",
    ]
    static let limitsKeys = [
        "max_body_bytes", "max_depth", "upstream_timeout", "session_idle_timeout", "max_sessions_per_grant", "shutdown_timeout",
        "upstream_connections_per_host", "upstream_streams_per_host",
    ]
    static let serverKeys = ["command", "env", "shared", "url", "transport", "headers", "policy"] + serverPinningKeys

    /// Loads a configuration: every problem in it and in the policies it names is reported at
    /// once. `${NAME}` in a string is replaced by the environment variable NAME (a missing one
    /// is a problem); relative paths (policies, the
    /// database) are relative to the configuration file.
    public static func load(
        _ bytes: some Collection<UInt8>,
        file: String? = nil,
        environment: [String: String]
    ) throws(PolicyLoadError) -> GatewayConfiguration {
        let bytes = Array(bytes)
        let document = try Document.read(bytes, format: .detect(file: file, bytes: bytes), file: file)
        var decoder = document.decoder(file: file)
        let folder = file.map { URL(fileURLWithPath: $0).deletingLastPathComponent() } ?? URL(fileURLWithPath: ".")
        var loader = Loader(decoder: decoder, environment: environment, folder: folder)
        let configuration = loader.configuration(document.value)
        decoder = loader.decoder
        let problems = decoder.problems + loader.policyProblems
        guard problems.isEmpty, let configuration else { throw PolicyLoadError(problems: problems) }
        return configuration
    }

    /// Decodes one document, keeping the decoder's problems and those of the policies it loads.
    struct Loader {
        var decoder: DocumentDecoder
        let environment: [String: String]
        let folder: URL
        var policyProblems: [PolicyProblem] = []

        /// A path from the file: relative ones are relative to the file's folder.
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : folder.appending(path: path).standardizedFileURL.path
        }

        mutating func configuration(_ value: JSONValue) -> GatewayConfiguration? {
            let root = JSONPointer.root
            guard let object = decoder.object(value, at: root, keys: GatewayConfiguration.keys, required: ["servers"]) else { return nil }
            var configuration = GatewayConfiguration()
            if let version = object["version"], version != "1", version != .number(JSONNumber(1)) {
                decoder.report("unsupported version at /version; this Warden reads version \"1\"", at: root.appending("version"))
            }
            if let value = object["listen"] { configuration.listen = listen(value, at: root.appending("listen")) }
            if let value = object["store"] { configuration.store = store(value, at: root.appending("store")) }
            if let value = object["limits"] { configuration.limits = limits(value, at: root.appending("limits")) }
            configuration.pinning = pinning(object, at: root)
            if let value = object["aggregation"],
                let aggregation = decoder.object(value, at: root.appending("aggregation"), keys: ["separator"]),
                let separator = aggregation["separator"].flatMap({ string($0, at: root.appending("aggregation").appending("separator")) })
            {
                if separator.isEmpty {
                    decoder.report("the separator must not be empty at /aggregation/separator", at: root.appending("aggregation").appending("separator"))
                }
                configuration.aggregationSeparator = separator
            }
            if let value = object["servers"], let entries = decoder.namedEntries(value, at: root.appending("servers")) {
                if entries.members.isEmpty { decoder.report("name at least one server at /servers", at: root.appending("servers")) }
                configuration.servers = entries.members.compactMap { member in
                    server(member.key, member.value, at: root.appending("servers").appending(member.key))
                }
            }
            // No server name may contain the separator, and no aggregated name may be read two
            // ways: a call is routed to the one server whose name and separator begin it.
            for server in configuration.servers
            where !configuration.aggregationSeparator.isEmpty && server.name.contains(configuration.aggregationSeparator) {
                let pointer = root.appending("servers").appending(server.name)
                decoder.report(
                    "the server name \(server.name) contains the aggregation separator \"\(configuration.aggregationSeparator)\", so its tools' aggregated names could collide with another server's, at \(pointer); rename the server, or set aggregation.separator to something no server name contains",
                    at: pointer)
            }
            for (first, second) in GatewayConfiguration.ambiguousServerNames(configuration.servers.map(\.name), separator: configuration.aggregationSeparator) {
                let pointer = root.appending("servers").appending(second)
                let (shorter, longer) = first.count <= second.count ? (first, second) : (second, first)
                let separator = configuration.aggregationSeparator
                let example = longer + separator + "read_file"
                let misread = String(example.dropFirst(shorter.count + separator.count))
                decoder.report(
                    "the server names \(first) and \(second) collide on the aggregated endpoint /mcp: \(example) could be \(longer)'s tool read_file or \(shorter)'s tool \(misread), at \(pointer); rename one of them so that neither name followed by \"\(separator)\" begins the other's",
                    at: pointer)
            }
            if let value = object["auth"],
                let auth = decoder.object(value, at: root.appending("auth"), keys: ["jwt"]),
                let jwt = auth["jwt"]
            {
                configuration.jwt = jwtAuthentication(jwt, at: root.appending("auth").appending("jwt"), servers: configuration.servers.map(\.name))
            }
            if let value = object["approvals"] { configuration.approvals = approvals(value, at: root.appending("approvals")) }
            if let value = object["audit"] { configuration.audit = audit(value, at: root.appending("audit")) }
            return configuration
        }

        mutating func audit(_ value: JSONValue, at pointer: JSONPointer) -> Audit {
            var audit = Audit()
            guard let object = decoder.object(value, at: pointer, keys: ["arguments", "redact"]) else { return audit }
            if let kept = object["arguments"].flatMap({ string($0, at: pointer.appending("arguments")) }) {
                switch kept {
                case "hash": audit.argumentValues = false
                case "values": audit.argumentValues = true
                default:
                    decoder.report(
                        "unknown value \"\(kept)\" at \(pointer.appending("arguments")); expected hash or values",
                        at: pointer.appending("arguments"), suggestion: "values")
                }
            }
            if let value = object["redact"], let redaction = decoder.argumentRedaction(value, at: pointer.appending("redact")) {
                audit.redact = redaction
            }
            return audit
        }

        mutating func approvals(_ value: JSONValue, at pointer: JSONPointer) -> Approvals {
            var approvals = Approvals()
            guard let object = decoder.object(value, at: pointer, keys: ["webhook", "dashboard_url"]) else { return approvals }
            if let url = object["dashboard_url"] { approvals.dashboardURL = string(url, at: pointer.appending("dashboard_url")) }
            guard let webhook = object["webhook"] else { return approvals }
            let at = pointer.appending("webhook")
            if case .string = webhook {
                approvals.webhookURL = string(webhook, at: at)
            } else if let hook = decoder.object(webhook, at: at, keys: ["url", "headers"], required: ["url"]) {
                approvals.webhookURL = hook["url"].flatMap { string($0, at: at.appending("url")) }
                approvals.webhookHeaders = hook["headers"].flatMap { stringMap($0, at: at.appending("headers")) } ?? [:]
            }
            if let url = approvals.webhookURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                decoder.report("the webhook must be an http(s) URL at \(at)", at: at)
            }
            return approvals
        }

        mutating func listen(_ value: JSONValue, at pointer: JSONPointer) -> Listen {
            var listen = Listen()
            guard let object = decoder.object(value, at: pointer, keys: GatewayConfiguration.listenKeys) else { return listen }
            if let value = object["host"], let host = string(value, at: pointer.appending("host")) { listen.host = host }
            if let value = object["port"], let port = decoder.integer(value, at: pointer.appending("port"), in: 0...65535) { listen.port = port }
            if let value = object["allowed_origins"], let origins = strings(value, at: pointer.appending("allowed_origins")) {
                listen.allowedOrigins = origins
            }
            if let value = object["allowed_hosts"], let hosts = strings(value, at: pointer.appending("allowed_hosts")) {
                listen.allowedHosts = hosts
            }
            if let value = object["anonymous"], let anonymous = decoder.bool(value, at: pointer.appending("anonymous")) {
                listen.anonymous = anonymous
                if anonymous && !["127.0.0.1", "::1", "localhost"].contains(listen.host) {
                    decoder.report("anonymous mode is for loopback development only; listen on 127.0.0.1 at \(pointer)", at: pointer.appending("anonymous"))
                }
            }
            if let value = object["header_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("header_timeout")) {
                listen.headerTimeoutSeconds = seconds
            }
            if let value = object["body_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("body_timeout")) {
                listen.bodyTimeoutSeconds = seconds
            }
            if let value = object["idle_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("idle_timeout")) {
                listen.idleTimeoutSeconds = seconds
            }
            if let value = object["max_connections"], let count = decoder.integer(value, at: pointer.appending("max_connections"), in: 1...1_000_000) {
                listen.maxConnections = count
            }
            if let value = object["instance"], let instance = string(value, at: pointer.appending("instance")) {
                if GatewayInstance.isValidName(instance) {
                    listen.instance = instance
                } else {
                    decoder.report("the instance name must be 1 to 63 letters, digits or '-' at \(pointer)", at: pointer.appending("instance"))
                }
            }
            return listen
        }

        mutating func limits(_ value: JSONValue, at pointer: JSONPointer) -> Limits {
            var limits = Limits()
            guard let object = decoder.object(value, at: pointer, keys: GatewayConfiguration.limitsKeys) else { return limits }
            if let value = object["max_body_bytes"], let bytes = decoder.integer(value, at: pointer.appending("max_body_bytes"), in: 1024...(1 << 30)) {
                limits.maxBodyBytes = bytes
            }
            if let value = object["max_depth"], let depth = decoder.integer(value, at: pointer.appending("max_depth"), in: 2...1000) {
                limits.maxDepth = depth
            }
            if let value = object["upstream_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("upstream_timeout")) {
                limits.upstreamTimeoutSeconds = seconds
            }
            if let value = object["session_idle_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("session_idle_timeout")) {
                limits.sessionIdleTimeoutSeconds = seconds
            }
            if let value = object["max_sessions_per_grant"],
                let count = decoder.integer(value, at: pointer.appending("max_sessions_per_grant"), in: 1...1_000_000)
            {
                limits.maxSessionsPerGrant = count
            }
            if let value = object["shutdown_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("shutdown_timeout")) {
                limits.shutdownTimeoutSeconds = seconds
            }
            if let value = object["upstream_connections_per_host"],
                let count = decoder.integer(value, at: pointer.appending("upstream_connections_per_host"), in: 1...100_000)
            {
                limits.upstreamConnectionsPerHost = count
            }
            if let value = object["upstream_streams_per_host"],
                let count = decoder.integer(value, at: pointer.appending("upstream_streams_per_host"), in: 1...100_000)
            {
                limits.upstreamStreamsPerHost = count
            }
            return limits
        }

        /// `auth.jwt`; `servers` are the names of the servers configured.
        mutating func jwtAuthentication(_ value: JSONValue, at pointer: JSONPointer, servers: [String]) -> JWTAuthentication? {
            guard let object = decoder.object(value, at: pointer, keys: GatewayConfiguration.jwtKeys) else { return nil }
            let reachable = object["servers"].flatMap { strings($0, at: pointer.appending("servers")) }
            for name in reachable ?? [] where !servers.contains(name) {
                decoder.report("no server is named \(name) at \(pointer.appending("servers"))", at: pointer.appending("servers"))
            }
            let keys: JWTAuthentication.KeySource
            switch (object["jwks_file"].flatMap { string($0, at: pointer.appending("jwks_file")) }, object["jwks_url"].flatMap { string($0, at: pointer.appending("jwks_url")) }) {
            case (let file?, nil):
                keys = .file(resolve(file))
            case (nil, let url?):
                guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                    decoder.report("jwks_url must be an http(s) URL at \(pointer.appending("jwks_url"))", at: pointer.appending("jwks_url"))
                    return nil
                }
                keys = .url(url)
            default:
                decoder.report("name the signing keys with exactly one of \"jwks_file\" and \"jwks_url\" at \(pointer)", at: pointer)
                return nil
            }
            var jwt = JWTAuthentication(keys: keys)
            jwt.issuer = object["issuer"].flatMap { string($0, at: pointer.appending("issuer")) }
            jwt.audience = object["audience"].flatMap { string($0, at: pointer.appending("audience")) }
            if let claim = object["identity_claim"].flatMap({ string($0, at: pointer.appending("identity_claim")) }) { jwt.identityClaim = claim }
            jwt.labelClaims = object["label_claims"].flatMap { stringMap($0, at: pointer.appending("label_claims")) } ?? [:]
            if let value = object["jwks_refetch_interval"],
                let seconds = decoder.durationSeconds(value, at: pointer.appending("jwks_refetch_interval"))
            {
                jwt.refetchIntervalSeconds = seconds
            }
            jwt.servers = reachable
            if let relative = object["policy"].flatMap({ string($0, at: pointer.appending("policy")) }) {
                let path = resolve(relative)
                if let data = FileManager.default.contents(atPath: path) {
                    do {
                        _ = try PolicyLoader.load(data, file: path)
                    } catch {
                        policyProblems += error.problems
                    }
                } else {
                    decoder.report("cannot read the policy file \(path) at \(pointer.appending("policy"))", at: pointer.appending("policy"))
                }
                jwt.policyPath = path
            }
            return jwt
        }

        mutating func server(_ name: String, _ value: JSONValue, at pointer: JSONPointer) -> Server? {
            if !GatewayConfiguration.isValidServerName(name) {
                decoder.report("server names may use letters, digits, - and _ only, at \(pointer)", at: pointer)
            }
            guard let object = decoder.object(value, at: pointer, keys: GatewayConfiguration.serverKeys, required: ["policy"]) else { return nil }
            let upstream: Upstream?
            switch (object["command"], object["url"]) {
            case (let command?, nil):
                upstream = stdio(command, object, at: pointer)
            case (nil, let url?):
                upstream = remote(url, object, at: pointer)
            default:
                decoder.report("a server needs exactly one of \"command\" (stdio) and \"url\" (remote) at \(pointer)", at: pointer)
                upstream = nil
            }
            guard let policyValue = object["policy"], let relative = string(policyValue, at: pointer.appending("policy")) else { return nil }
            let path = resolve(relative)
            guard let data = FileManager.default.contents(atPath: path) else {
                decoder.report("cannot read the policy file \(path) at \(pointer.appending("policy"))", at: pointer.appending("policy"))
                return nil
            }
            let policy: Policy
            do {
                policy = try PolicyLoader.load(data, file: path)
            } catch {
                policyProblems += error.problems
                return nil
            }
            guard let upstream else { return nil }
            let overrides = pinningOverrides(object, at: pointer)
            return Server(name: name, upstream: upstream, policyPath: path, policy: policy, onDrift: overrides.onDrift, onPoisoning: overrides.onPoisoning)
        }

        mutating func stdio(_ value: JSONValue, _ object: JSONObject, at pointer: JSONPointer) -> Upstream? {
            for key in ["transport", "headers"] where object[key] != nil {
                decoder.report("\"\(key)\" is for remote servers (with \"url\") at \(pointer)", at: pointer.appending(key))
            }
            guard let command = strings(value, at: pointer.appending("command")) else { return nil }
            if command.isEmpty { decoder.report("the command must not be empty at \(pointer.appending("command"))", at: pointer.appending("command")) }
            let environment = object["env"].flatMap { stringMap($0, at: pointer.appending("env")) } ?? [:]
            let shared = object["shared"].flatMap { decoder.bool($0, at: pointer.appending("shared")) } ?? false
            return .stdio(command: command, environment: environment, shared: shared)
        }

        mutating func remote(_ value: JSONValue, _ object: JSONObject, at pointer: JSONPointer) -> Upstream? {
            for key in ["env", "shared"] where object[key] != nil {
                decoder.report("\"\(key)\" is for stdio servers (with \"command\") at \(pointer)", at: pointer.appending(key))
            }
            guard let url = string(value, at: pointer.appending("url")) else { return nil }
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
                decoder.report("expected an http:// or https:// URL at \(pointer.appending("url"))", at: pointer.appending("url"))
                return nil
            }
            let headers = object["headers"].flatMap { stringMap($0, at: pointer.appending("headers")) } ?? [:]
            let transport = object["transport"].flatMap { decoder.choice($0, at: pointer.appending("transport"), as: RemoteTransport.self) }
            switch transport ?? .streamableHTTP {
            case .streamableHTTP: return .streamableHTTP(url: url, headers: headers)
            case .sse: return .sse(url: url, headers: headers)
            }
        }

        /// A string with `${NAME}` references replaced from the environment.
        mutating func string(_ value: JSONValue, at pointer: JSONPointer) -> String? {
            guard let text = decoder.string(value, at: pointer) else { return nil }
            return expand(text, at: pointer)
        }

        mutating func strings(_ value: JSONValue, at pointer: JSONPointer) -> [String]? {
            decoder.strings(value, at: pointer).map { $0.enumerated().map { expand($1, at: pointer.appending($0)) } }
        }

        mutating func stringMap(_ value: JSONValue, at pointer: JSONPointer) -> [String: String]? {
            decoder.stringMap(value, at: pointer).map { map in map.reduce(into: [:]) { $0[$1.key] = expand($1.value, at: pointer.appending($1.key)) } }
        }

        mutating func expand(_ text: String, at pointer: JSONPointer) -> String {
            guard text.contains("${") else { return text }
            var result = ""
            var rest = Substring(text)
            while let start = rest.range(of: "${") {
                result += rest[..<start.lowerBound]
                guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                    decoder.report("unterminated ${ at \(pointer)", at: pointer)
                    return text
                }
                let name = String(rest[start.upperBound..<end])
                if let value = environment[name] {
                    result += value
                } else {
                    decoder.report("the environment variable \(name) is not set (used at \(pointer))", at: pointer)
                }
                rest = rest[rest.index(after: end)...]
            }
            return result + rest
        }
    }

    /// The pairs of server names whose tools' aggregated names could be read two ways:
    /// names A and B collide exactly when A + separator begins B + separator, or the reverse
    /// (`files` and `files_` with `__`: `files___read_file` is `files_`'s `read_file` and
    /// `files`'s `_read_file`).
    public static func ambiguousServerNames(_ names: [String], separator: String) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for (index, first) in names.enumerated() {
            for second in names[(index + 1)...] where first != second {
                let (a, b) = (first + separator, second + separator)
                if a.utf8.starts(with: b.utf8) || b.utf8.starts(with: a.utf8) { pairs.append((first, second)) }
            }
        }
        return pairs
    }

    /// Server names appear in URLs (`/mcp/<name>`) and aggregated tool names: ASCII letters,
    /// digits, `-` and `_`.
    static func isValidServerName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default:
                false
            }
        }
    }

    /// The `transport` of a remote server.
    enum RemoteTransport: String, CaseIterable {
        case streamableHTTP = "streamable-http"
        case sse
    }
}
