/// The server ``ServerInspector`` lists: a stdio command it starts, or a remote server it
/// connects to.
public enum InspectionTarget: Sendable, Equatable {
    /// How a remote server is spoken to.
    public enum RemoteTransport: String, Sendable, Equatable, CaseIterable {
        /// Streamable HTTP, falling back to the legacy HTTP+SSE transport when the URL's path
        /// ends in `/sse` or a POST there is refused with HTTP 404 or 405.
        case automatic = "auto"
        /// Streamable HTTP only.
        case streamableHTTP = "http"
        /// The legacy HTTP+SSE transport (2024-11-05) only.
        case sse
    }

    /// A stdio server: `command` (its first word looked up in `PATH`), with `environment`
    /// added to Warden's own.
    case command([String], environment: [String: String] = [:])
    /// A remote server at `url`, sent `headers` with every request.
    case remote(url: String, headers: [String: String] = [:], transport: RemoteTransport = .automatic)

    /// The target as a configured server's upstream reaches it.
    public init(_ upstream: GatewayConfiguration.Upstream) {
        switch upstream {
        case .stdio(let command, let environment, _): self = .command(command, environment: environment)
        case .streamableHTTP(let url, let headers): self = .remote(url: url, headers: headers, transport: .streamableHTTP)
        case .sse(let url, let headers): self = .remote(url: url, headers: headers, transport: .sse)
        }
    }

    /// The command line or the URL, for messages (never the headers: they hold credentials).
    public var displayName: String {
        switch self {
        case .command(let command, _): command.joined(separator: " ")
        case .remote(let url, _, _): url
        }
    }
}
