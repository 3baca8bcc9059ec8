import ArgumentParser
import Foundation
import WardenGateway
import WardenJSON
import WardenPolicy

/// `warden config`: the gateway configuration `warden serve` runs.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check gateway configuration files.",
        subcommands: [Check.self]
    )

    /// `warden config check FILE`
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a gateway configuration and every policy it names; report every problem.",
            discussion: "`${NAME}` references are resolved from the environment. Exits 0 when valid, 2 when not."
        )

        @Argument(help: ArgumentHelp("The configuration file (YAML or JSON) (default: $WARDEN_CONFIG).", valueName: "file"))
        var configFile: String?

        /// The file checked: the argument, else `$WARDEN_CONFIG`.
        var file: String { ConfigurationOptions.path(configFile) ?? "" }

        func validate() throws {
            if ConfigurationOptions.path(configFile) == nil {
                throw ValidationError("Missing expected argument '<file>' (or set $WARDEN_CONFIG).")
            }
        }

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let problems: [PolicyProblem]
            var loaded: GatewayConfiguration?
            do {
                loaded = try GatewayConfiguration.load(PolicyFiles.read(file), file: file, environment: ProcessInfo.processInfo.environment)
                problems = []
            } catch let error as PolicyLoadError {
                problems = error.problems
            }
            switch output.format {
            case .text:
                if let loaded {
                    let servers = loaded.servers.map(\.name).joined(separator: ", ")
                    print("\(file): ok (listening on \(loaded.listen.host):\(loaded.listen.port); servers: \(servers))")
                }
                problems.forEach { print($0.description) }
            case .json:
                var report: [JSONObject.Member] = [
                    .init(key: "file", value: .string(file)),
                    .init(key: "valid", value: .bool(problems.isEmpty)),
                    .init(key: "problems", value: .array(problems.map(PolicyCommand.Check.json))),
                ]
                if let loaded { report.append(.init(key: "servers", value: .array(loaded.servers.map { .string($0.name) }))) }
                print(JSONWriter.write(.object(JSONObject(report))))
            }
            if !problems.isEmpty { throw ExitCode(2) }
        }
    }
}
