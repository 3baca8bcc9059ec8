public import WardenPolicy
public import WardenStore

/// What `warden serve` runs: where it listens, where its state lives, and the servers it fronts.
/// Read from a YAML or JSON file with ``GatewayConfiguration/load(_:file:environment:)``.
///
/// ```yaml
/// version: "1"
/// listen: {host: 127.0.0.1, port: 8940}
/// servers:
///   time:
///     command: [uvx, mcp-server-time]
///     policy: policies/time.yaml
/// ```
public struct GatewayConfiguration: Sendable {
    /// The HTTP listener.
    public struct Listen: Sendable, Equatable {
        /// The address to listen on. The default is loopback, 127.0.0.1.
        public var host = "127.0.0.1"
        /// The port; 0 picks a free one (logged at start). The default is 8940.
        public var port = 8940
        /// Origins allowed to call (browsers send `Origin`); others get 403. The default is none.
        public var allowedOrigins: [String] = []
        /// Host headers accepted, against DNS rebinding. The default is the listen host and `localhost`.
        public var allowedHosts: [String] = []
        /// Serve without grant tokens (loopback development only; loudly logged). The default is false.
        public var anonymous = false
        /// How long a connection may take to send a complete request head, in seconds: from
        /// its opening for the first request, from its first byte for the next. The default is 10.
        public var headerTimeoutSeconds = 10
        /// How long a request's body may take to arrive once its head has, in seconds. The default is 30.
        public var bodyTimeoutSeconds = 30
        /// How long a kept-alive connection may wait for its next request, in seconds. The default is 60.
        public var idleTimeoutSeconds = 60
        /// The most connections open at once; more are answered 503 and closed. The default is 1024.
        public var maxConnections = 1024
        /// This instance's name, which starts the id of every session it opens (`<instance>.<random>`),
        /// so that a load balancer can route a session's requests to the instance that owns it
        /// (see `docs/scale-out.md`). Letters, digits and `-`, at most 63. The default is derived
        /// from the address it listens on: `127.0.0.1:8081` gives `127-0-0-1-8081`; a wildcard
        /// host (`0.0.0.0`, `::`) gives the machine's host name and the port.
        public var instance: String?

        public init() {}
    }

    /// Limits on what clients and upstreams may send.
    public struct Limits: Sendable, Equatable {
        /// The largest request body, in bytes. The default is 4 MiB.
        public var maxBodyBytes = 4 * 1024 * 1024
        /// The deepest JSON nesting accepted. The default is 64.
        public var maxDepth = 64
        /// How long an upstream may take to answer, in seconds. The default is 60.
        public var upstreamTimeoutSeconds = 60
        /// How long a session may go unused (no request, no open stream) before it is ended
        /// with its server process, in seconds. The default is 1800 (30 minutes).
        public var sessionIdleTimeoutSeconds = 1800
        /// The most sessions one caller (a grant, a JWT identity, or the anonymous caller) may
        /// have open at once, over every server; more are refused with 429. The default is 32.
        public var maxSessionsPerGrant = 32
        /// How long shutdown may take, in seconds, whatever is stuck: then the audit log is
        /// flushed, remaining connections closed and server processes killed. The default is 10.
        public var shutdownTimeoutSeconds = 10
        /// Connections to one remote server's host for requests (POSTs, DELETEs, resumed call
        /// streams); more requests wait for one. The default is 128.
        public var upstreamConnectionsPerHost = 128
        /// Connections to one remote server's host for the sessions' long-lived event streams
        /// (one per session), kept apart from the requests' so that streams never starve them.
        /// The default is 1024.
        public var upstreamStreamsPerHost = 1024

        public init() {}
    }

    /// Bearer JWTs from an identity provider, accepted besides grant tokens.
    public struct JWTAuthentication: Sendable, Equatable {
        /// Where the provider's signing keys are: a JWKS file, or a URL fetched at start and
        /// every ten minutes.
        public enum KeySource: Sendable, Equatable {
            case file(String)
            case url(String)
        }

        /// The signing keys.
        public var keys: KeySource
        /// The `iss` every token must carry; `nil` to accept any.
        public var issuer: String?
        /// An `aud` every token must carry; `nil` to accept any.
        public var audience: String?
        /// The claim that names the identity. The default is `sub`.
        public var identityClaim = "sub"
        /// Identity labels policies can test, by label name: the claim each comes from.
        public var labelClaims: [String: String] = [:]
        /// The servers JWT callers may reach; `nil` for every server.
        public var servers: [String]?
        /// The policy file deciding JWT callers' calls; `nil` for each server's own.
        public var policyPath: String?
        /// A token naming a key (`kid`) that is not in the set fetches a JWKS URL again at once,
        /// at most once per this interval, in seconds. The default is 30.
        public var refetchIntervalSeconds = 30

        public init(keys: KeySource) {
            self.keys = keys
        }
    }

    /// How one server is reached.
    public enum Upstream: Sendable, Equatable {
        /// A stdio server started by Warden: one process per client session, or one shared.
        case stdio(command: [String], environment: [String: String], shared: Bool)
        /// A remote server over Streamable HTTP.
        case streamableHTTP(url: String, headers: [String: String])
        /// A remote server over the legacy HTTP+SSE transport (2024-11-05).
        case sse(url: String, headers: [String: String])
    }

    /// One server behind the gateway, reachable at `/mcp/<name>`.
    public struct Server: Sendable {
        /// The name, in URLs and policies.
        public var name: String
        /// How it is reached.
        public var upstream: Upstream
        /// The path of its policy file.
        public var policyPath: String
        /// The policy, loaded.
        public var policy: Policy
        /// Its own `on_drift`, over the gateway's; `nil` for the gateway's.
        public var onDrift: ToolDefinitionGuard.Action? = nil
        /// Its own `on_poisoning`, over the gateway's; `nil` for the gateway's.
        public var onPoisoning: ToolDefinitionGuard.Action? = nil
    }

    /// How people hear of calls held for approval (`approvals`).
    public struct Approvals: Sendable, Equatable {
        /// A URL that receives a JSON POST for each new approval; `nil` for none.
        public var webhookURL: String?
        /// Headers sent with the webhook (e.g. a bearer credential, from `${ENV}`).
        public var webhookHeaders: [String: String] = [:]
        /// The dashboard's public base URL, for links in the webhook; `nil` for the listen address.
        public var dashboardURL: String?

        public init() {}
    }

    /// What the audit log keeps of each call's arguments.
    public struct Audit: Sendable, Equatable {
        /// Keep the argument values (`arguments: values`), not only their keys and hash. The default is false.
        public var argumentValues = false
        /// Argument paths whose values are replaced by `[redacted]` when values are kept.
        public var redact = ArgumentRedaction()

        public init() {}

        /// The redaction to apply to kept values, or `nil` when values are not kept.
        public var auditedArguments: ArgumentRedaction? { argumentValues ? redact : nil }
    }

    public var listen = Listen()
    public var approvals = Approvals()
    public var audit = Audit()
    /// Where state is kept (`store: {sqlite: PATH}`, relative to the configuration file, or
    /// `store: {postgres: URL}` or its parts);
    /// `nil` for SQLite at the default path.
    public var store: StoreConfiguration?
    public var limits = Limits()
    /// JWT identities, when configured (`auth.jwt`).
    public var jwt: JWTAuthentication?
    /// The servers, in file order.
    public var servers: [Server] = []
    /// What joins a server's name and a tool's on the aggregated endpoint `/mcp`. The default is `__`.
    public var aggregationSeparator = "__"
    /// Pinning of tool definitions and poisoning checks (`pin`, `on_drift`, `on_poisoning`).
    public var pinning = Pinning()

    public init() {}
}
