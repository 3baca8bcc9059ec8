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

    @Option(
        help: ArgumentHelp(
            "With --config, pin only this server (repeatable); with a command or --url, the name to pin it under "
                + "(default: the command's file name, or the URL's host).", valueName: "name"))
    var server: [String] = []

    @Flag(help: "Compare the servers with the lock file instead of writing it; exit 1 on drift.")
    var check = false

    @Option(help: "Output format of the summary: text or json.")
    var format: Format = .text

    /// The server: `-- CMD ARGS…`, `--url`, or `--config` (last, so that `--` ends the line).
    @OptionGroup var target: ServerTargetOptions

    func validate() throws {
        if target.config == nil && server.count > 1 { throw ValidationError("--server names one server, except with --config.") }
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
        let options = target.inspectorOptions
        var summaries: [JSONValue] = []
        var drifted = false
        for (name, inspected) in targets {
            let progress: @Sendable (String) -> Void = { [quiet = self.target.quiet] line in
                if !quiet { printError("warden pin: \(name): \(line)") }
            }
            let listing: ServerListing
            do {
                listing = try await ServerInspector.list(inspected, options: options, progress: progress)
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
        if !target.command.isEmpty { return ([(server.first ?? PinningOptions.defaultServerName(target.command), .command(target.command))], nil) }
        if let remote = try target.remoteTarget(), let url = target.url {
            return ([(server.first ?? URL(string: url)?.host ?? "server", remote)], nil)
        }
        guard let (configuration, chosen) = try target.configuredServers(named: server) else { return ([], nil) }
        return (chosen.map { ($0.name, InspectionTarget($0.upstream)) }, configuration.pinning.lockPath)
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
