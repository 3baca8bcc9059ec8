import ArgumentParser
import Foundation
import WardenGateway

/// The server `warden scan` and `warden pin` read: a stdio command after `--`, a remote server
/// (`--url`, `--header`, `--transport`), or the servers of a gateway configuration (`--config`),
/// with how long listing each may take.
struct ServerTargetOptions: ParsableArguments {
    @Option(help: "The URL of a remote server (Streamable HTTP, or legacy SSE).")
    var url: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("A header sent to the remote server, K:V (repeatable).", valueName: "K:V"))
    var headers: [String] = []

    @Option(help: "The remote transport: auto (Streamable HTTP, else legacy SSE), http, or sse.")
    var transport: Transport = .auto

    @Option(help: ArgumentHelp("A gateway configuration: read its servers (all, or those --server names).", valueName: "file"))
    var config: String?

    @Option(help: "Seconds that connecting and listing may take, per server.")
    var timeout: Int = 30

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The stdio server's command, after --.", valueName: "command"))
    var command: [String] = []

    /// `--transport`: how a remote server is spoken to.
    enum Transport: String, ExpressibleByArgument, CaseIterable {
        case auto, http, sse

        var remote: InspectionTarget.RemoteTransport {
            switch self {
            case .auto: .automatic
            case .http: .streamableHTTP
            case .sse: .sse
            }
        }
    }

    func validate() throws {
        let targets = [!command.isEmpty, url != nil, config != nil].count { $0 }
        if targets == 0 { throw ValidationError("Name a server: -- CMD ARGS…, --url URL, or --config FILE.") }
        if targets > 1 { throw ValidationError("Name one target: -- CMD ARGS…, --url URL, or --config FILE, not several.") }
        if !headers.isEmpty && url == nil { throw ValidationError("--header goes with --url.") }
        if timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds.") }
        _ = try parsedHeaders()
    }

    /// `--header K:V` values, as a dictionary.
    func parsedHeaders() throws -> [String: String] {
        try headers.reduce(into: [:]) { parsed, header in
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else { throw ValidationError("--header takes K:V, got \"\(header)\".") }
            parsed[String(header[..<colon]).trimmingCharacters(in: .whitespaces)] = String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
    }

    /// The remote server of `--url`, or nil.
    func remoteTarget() throws -> InspectionTarget? {
        guard let url else { return nil }
        return .remote(url: url, headers: try parsedHeaders(), transport: transport.remote)
    }

    /// How long listing may take.
    var inspectorOptions: ServerInspector.Options {
        var options = ServerInspector.Options()
        options.timeout = .seconds(timeout)
        return options
    }

    /// The configuration of `--config` and its servers that `names` selects (all when empty);
    /// exit 2 naming a server the configuration does not have.
    func configuredServers(named names: [String]) throws -> (GatewayConfiguration, [GatewayConfiguration.Server])? {
        guard let config else { return nil }
        let configuration = try ConfigurationOptions.load(config)
        let known = configuration.servers.map(\.name)
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw failure("\(config) has no server \"\(unknown)\" (it has: \(known.joined(separator: ", ")))")
        }
        return (configuration, configuration.servers.filter { names.isEmpty || names.contains($0.name) })
    }
}
