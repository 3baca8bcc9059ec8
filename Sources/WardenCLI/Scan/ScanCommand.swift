import ArgumentParser
import Foundation
import WardenCatalogue
import WardenGateway
import WardenJSON

/// `warden scan`: lists a server's tools, classifies each, grades the server, and can write a
/// starter policy.
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List a server's tools, classify each one's risk, and write a starter policy.",
        discussion: """
            Targets: `warden scan -- CMD ARGS…` (a stdio server), `warden scan --url URL [--header K:V]…` \
            (Streamable HTTP or legacy SSE), `warden scan --config warden.yaml [--server NAME]` (configured \
            servers; JSON is then an array of reports). A progress line goes to stderr. Exit codes: 0 scanned; \
            1 a finding of high severity or above (poisoning, a lying annotation); 2 usage error, invalid \
            configuration, or a server that cannot be started or reached. See docs/scan.md.
            """
    )

    /// How the report is printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, markdown
    }

    @Option(help: ArgumentHelp("With --config, scan only this server (repeatable).", valueName: "name"))
    var server: [String] = []

    @Option(help: "Output format: table, json or markdown.")
    var format: Format = .table

    @Option(
        name: .customLong("emit-policy"),
        help: ArgumentHelp("Write a starter policy (YAML) to this file; with --config and several servers, a directory of <server>.yaml.", valueName: "file"))
    var emitPolicy: String?

    /// The server: `-- CMD ARGS…`, `--url`, or `--config` (last, so that `--` ends the line).
    @OptionGroup var target: ServerTargetOptions

    func validate() throws {
        if !server.isEmpty && target.config == nil { throw ValidationError("--server goes with --config.") }
    }

    func run() async throws {
        let (targets, separator) = try scanTargets()
        let options = target.inspectorOptions
        var reports: [(name: String?, report: ScanReport)] = []
        var unreachable = false
        for target in targets {
            let progress: @Sendable (String) -> Void = { [quiet = self.target.quiet] line in
                if !quiet { printError("warden scan: \(target.label.map { "\($0): " } ?? "")\(line)") }
            }
            do {
                let listing = try await ServerInspector.list(target.target, options: options, progress: progress)
                progress("classifying \(listing.tools.count) tools")
                var report = ScanReport(
                    server: .init(name: listing.name, version: listing.version), target: target.label ?? target.target.displayName,
                    tools: listing.tools, instructions: listing.instructions, resources: listing.resources, prompts: listing.prompts,
                    truncated: listing.truncated)
                report.warnings = listing.failed
                reports.append((target.label, report))
            } catch {
                printError("warden scan: error: \(error)")
                unreachable = true
            }
        }
        if let separator, reports.count > 1 {
            // Servers behind one gateway: a tool that shadows another server's on the aggregated endpoint.
            let servers = reports.map { ShadowingDetector.Server(name: $0.name ?? "", tools: $0.report.tools.map(\.definition)) }
            for finding in ShadowingDetector(separator: separator).findings(in: servers) {
                if let index = reports.firstIndex(where: { $0.name == finding.server }) { reports[index].report.add(finding) }
            }
        }
        try print(reports: reports, asList: target.config != nil)
        if let emitPolicy { try write(policiesOf: reports, to: emitPolicy) }
        if unreachable { throw ExitCode(2) }
        if reports.contains(where: { ($0.report.worstSeverity ?? .info) >= .high }) { throw ExitCode(1) }
    }

    struct Target {
        var label: String?
        var target: InspectionTarget
    }

    /// The servers to scan, and with --config the aggregation separator of the configuration.
    func scanTargets() throws -> ([Target], String?) {
        if !target.command.isEmpty { return ([Target(label: nil, target: .command(target.command))], nil) }
        if let remote = try target.remoteTarget() { return ([Target(label: nil, target: remote)], nil) }
        guard let (configuration, chosen) = try target.configuredServers(named: server) else { return ([], nil) }
        return (chosen.map { Target(label: $0.name, target: InspectionTarget($0.upstream)) }, configuration.aggregationSeparator)
    }

    func print(reports: [(name: String?, report: ScanReport)], asList: Bool) throws {
        // Nothing scanned: the errors said why; a table or markdown of nothing says nothing.
        if reports.isEmpty && format != .json { return }
        switch format {
        case .json:
            if asList {
                Swift.print(JSONWriter.write(.array(reports.map { Self.json($0.report, configuredAs: $0.name) })))
            } else if let report = reports.first {
                Swift.print(JSONWriter.write(report.report.json))
            }
        case .table:
            Swift.print(reports.map { $0.report.table() }.joined(separator: "\n\n"))
        case .markdown:
            Swift.print(reports.map { $0.report.markdown() }.joined(separator: "\n"), terminator: "")
        }
    }

    /// A report of `--config`, with the server's configured name first.
    static func json(_ report: ScanReport, configuredAs name: String?) -> JSONValue {
        guard var object = report.json.objectValue, let name else { return report.json }
        object.members.insert(.init(key: "configured_name", value: .string(name)), at: 0)
        return .object(object)
    }

    func write(policiesOf reports: [(name: String?, report: ScanReport)], to path: String) throws {
        let emitter = StarterPolicy()
        if target.config != nil && (server.count != 1) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for (name, report) in reports {
                let file = (path as NSString).appendingPathComponent("\(name ?? "server").yaml")
                try write(emitter.yaml(for: report), to: file)
            }
        } else if let report = reports.first?.report {
            try write(emitter.yaml(for: report), to: path)
        }
    }

    private func write(_ text: String, to file: String) throws {
        do {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw failure("cannot write \(file): \(error.localizedDescription)")
        }
        if !target.quiet { printError("warden scan: wrote a starter policy to \(file)") }
    }
}
