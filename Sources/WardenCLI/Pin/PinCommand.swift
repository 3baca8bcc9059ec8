import ArgumentParser
import Foundation
import WardenCatalogue
import WardenGateway
import WardenJSON

/// `warden pin`: lists a server's tools and writes each one's definition and SHA-256 to a lock
/// file, which `warden run --pin` and `pin:` in `warden serve`'s configuration enforce.
struct PinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin",
        abstract: "Pin a server's tool definitions in a lock file, against rug pulls.",
        discussion: """
            Targets: `warden pin -- CMD ARGS…` (a stdio server, named by --server or the command's file \
            name, as `warden run` names it), `warden pin --url URL [--header K:V]…`, or `warden pin \
            --config warden.yaml [--server NAME]…` (configured servers, under their names; the lock file \
            defaults to the configuration's `pin:`). The pins of the servers listed are replaced; other \
            servers' pins are kept. --check compares instead of writing: exit 1 when anything drifted. \
            Exit codes: 0 pinned (or no drift); 1 drift found by --check; 2 usage error, an unreadable \
            lock file, or a server that cannot be started or reached. See docs/pinning.md.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: ArgumentHelp("The lock file (default: the configuration's pin:, else warden.lock).", valueName: "path"))
    var lock: String?

    @Option(help: "The URL of a remote server (Streamable HTTP, or legacy SSE).")
    var url: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("A header sent to the remote server, K:V (repeatable).", valueName: "K:V"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("A gateway configuration: pin its servers.", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "With --config, pin only this server (repeatable); with a command or --url, the name to pin it under "
                + "(default: the command's file name, or the URL's host).", valueName: "name"))
    var server: [String] = []

    @Flag(help: "Compare the servers with the lock file instead of writing it; exit 1 on drift.")
    var check = false

    @Option(help: "Output format of the summary: text or json.")
    var format: Format = .text

    @Option(help: "Seconds that connecting and listing may take, per server.")
    var timeout: Int = 30

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The stdio server's command, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        let targets = [!command.isEmpty, url != nil, config != nil].count { $0 }
        if targets != 1 { throw ValidationError("Name one server: -- CMD ARGS…, --url URL, or --config FILE.") }
        if !headers.isEmpty && url == nil { throw ValidationError("--header goes with --url.") }
        if config == nil && server.count > 1 { throw ValidationError("--server names one server, except with --config.") }
        if timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds.") }
    }

    func run() async throws {
        let (targets, configuredLock) = try pinTargets()
        let path = lock ?? configuredLock ?? "warden.lock"
        var lockFile = LockFile()
        if FileManager.default.fileExists(atPath: path) || check {
            do {
                lockFile = try PinBook.load(path: path).lock
            } catch {
                throw failure(error.description)
            }
        }
        var options = ServerInspector.Options()
        options.timeout = .seconds(timeout)
        var summaries: [JSONValue] = []
        var drifted = false
        for (name, target) in targets {
            let progress: @Sendable (String) -> Void = { [quiet] line in
                if !quiet { printError("warden pin: \(name): \(line)") }
            }
            let listing: ServerListing
            do {
                listing = try await ServerInspector.list(target, options: options, progress: progress)
            } catch {
                throw failure("\(name): \(error)")
            }
            if !listing.truncated.isEmpty {
                throw failure("\(name): the tool list was cut off after \(options.maxPages) pages; a partial list cannot be pinned")
            }
            let drifts = (lockFile.servers[name] ?? LockFile.Server()).drift(of: listing.tools, complete: true)
            drifted = drifted || !drifts.isEmpty
            if !check { lockFile.servers[name] = LockFile.Server(listing.tools) }
            summaries.append(Self.summary(server: name, tools: listing.tools, drifts: drifts))
        }
        if !check {
            do {
                try Data(lockFile.encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw failure("cannot write the lock file \(path): \(error.localizedDescription)")
            }
        }
        printSummary(summaries, path: path)
        if check && drifted { throw ExitCode(1) }
    }

    /// The servers to list, each with the name it is pinned under; and the configuration's lock file, if any.
    func pinTargets() throws -> (targets: [(String, InspectionTarget)], lock: String?) {
        if !command.isEmpty { return ([(server.first ?? PinningOptions.defaultServerName(command), .command(command))], nil) }
        if let url {
            let name = server.first ?? URL(string: url)?.host ?? "server"
            return ([(name, .remote(url: url, headers: try parsedHeaders()))], nil)
        }
        guard let config else { return ([], nil) }
        let configuration = try ConfigurationOptions.load(config)
        let known = configuration.servers.map(\.name)
        if let unknown = server.first(where: { !known.contains($0) }) {
            throw failure("\(config) has no server \"\(unknown)\" (it has: \(known.joined(separator: ", ")))")
        }
        let chosen = configuration.servers.filter { server.isEmpty || server.contains($0.name) }
        return (chosen.map { ($0.name, InspectionTarget($0.upstream)) }, configuration.pinning.lockPath)
    }

    /// `--header K:V` values, as a dictionary.
    func parsedHeaders() throws -> [String: String] {
        try headers.reduce(into: [:]) { parsed, header in
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else { throw ValidationError("--header takes K:V, got \"\(header)\".") }
            parsed[String(header[..<colon]).trimmingCharacters(in: .whitespaces)] = String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
    }

    static func summary(server: String, tools: [ToolDefinition], drifts: [ToolDrift]) -> JSONValue {
        [
            "server": .string(server),
            "tools": .array(tools.map { ["name": .string($0.name), "sha256": .string($0.fingerprint)] }),
            "drift": .array(drifts.map { drift in
                [
                    "kind": .string(drift.kind.rawValue), "tool": .string(drift.tool),
                    "pinned_sha256": drift.pinnedHash.map(JSONValue.string) ?? .null,
                    "listed_sha256": drift.listedHash.map(JSONValue.string) ?? .null,
                    "diff": .string(drift.diff),
                ]
            }),
        ]
    }

    func printSummary(_ summaries: [JSONValue], path: String) {
        switch format {
        case .json:
            print(JSONWriter.write(["lock": .string(path), "checked": .bool(check), "servers": .array(summaries)]))
        case .text:
            for summary in summaries {
                let name = summary["server"]?.stringValue ?? ""
                let tools = summary["tools"]?.arrayValue ?? []
                let drifts = summary["drift"]?.arrayValue ?? []
                if check {
                    print(drifts.isEmpty ? "\(name): \(tools.count) tools, as pinned" : "\(name): \(drifts.count) drifted of \(tools.count) tools listed")
                } else {
                    print("\(name): pinned \(tools.count) tools in \(path)" + (drifts.isEmpty ? "" : " (\(drifts.count) changed since the last pin)"))
                }
                for drift in drifts {
                    print("  \(drift["kind"]?.stringValue ?? "") \(drift["tool"]?.stringValue ?? "")  \(drift["pinned_sha256"]?.stringValue?.prefix(12) ?? "-") → \(drift["listed_sha256"]?.stringValue?.prefix(12) ?? "-")")
                    if check, let diff = drift["diff"]?.stringValue {
                        print(diff.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
                    }
                }
            }
        }
    }
}
