import ArgumentParser
import Foundation
import WardenGateway
import WardenJSON
import WardenStore

/// `warden grants`: the bearer tokens agents use to reach servers through `warden serve`.
struct GrantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants",
        abstract: "Create, list, rotate and revoke grants: bearer tokens bound to servers and a policy.",
        discussion: "Tokens are random, shown once, and stored only as a SHA-256 hash.",
        subcommands: [Create.self, List.self, Rotate.self, Revoke.self]
    )

    /// Prints a newly issued token: the only time anyone sees it.
    static func printIssued(_ issued: IssuedGrant, format: OutputFormat) {
        switch format {
        case .text:
            print("grant \(issued.grant.id) (\(issued.grant.label)) for \(issued.grant.servers.joined(separator: ", "))")
            print("token: \(issued.token)")
            print("This token is shown once; store it now. Warden keeps only its hash.")
        case .json:
            guard case .object(var object) = issued.grant.json else { return }
            object.members.insert(.init(key: "token", value: .string(issued.token)), at: 1)
            print(JSONWriter.write(.object(object)))
        }
    }

    /// Runs a store operation, turning its failures into exit status 2 with the reason.
    static func attempt<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let failure as StoreError {
            throw WardenCLI.failure(failure.description)
        }
    }
}

extension GrantsCommand {
    /// `warden grants create`
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a grant and print its token, once.",
            discussion: """
                With --config (or $WARDEN_CONFIG), each --server must be one the gateway configuration \
                serves (exit 2 otherwise), and the database defaults to its store.sqlite. Without a \
                configuration, server names are not checked.
                """)

        @OptionGroup var database: DatabaseOptions

        @OptionGroup var configurationFile: ConfigurationOptions

        @Option(help: "A label for the grant, e.g. the agent's name.")
        var label: String

        @Option(name: .customLong("server"), help: "A server the token reaches (repeatable).")
        var servers: [String] = []

        @Option(help: "The policy file the grant's calls are decided by.")
        var policy: String

        @Option(help: "The identity name the grant gives (default: the label).")
        var identity: String?

        @Option(name: .customLong("identity-label"), help: "An identity label policies can test, as key=value (repeatable).")
        var identityLabels: [String] = []

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if servers.isEmpty { throw ValidationError("Name at least one --server.") }
            _ = try LabelOption.parse(identityLabels, option: "--identity-label")
        }

        func run() async throws {
            var store = try database.store()
            if let config = configurationFile.path {
                let configuration = try ConfigurationOptions.load(config)
                let known = configuration.servers.map(\.name)
                for server in servers where !known.contains(server) {
                    throw failure(
                        "\(config) has no server \"\(server)\"; it serves \(known.isEmpty ? "none" : known.joined(separator: ", "))")
                }
                store = try database.store(fallback: configuration.store)
            }
            let policyPath = URL(fileURLWithPath: policy).standardizedFileURL.path
            _ = try PolicyFiles.loadPolicy(policyPath)
            let grants = try await DatabaseOptions.open(store).grants
            let issued = try await GrantsCommand.attempt {
                try await grants.create(
                    label: label, servers: servers, policy: policyPath, identity: identity,
                    identityLabels: try LabelOption.parse(identityLabels, option: "--identity-label"))
            }
            GrantsCommand.printIssued(issued, format: output.format)
        }
    }

    /// `warden grants list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List grants (never their tokens).")

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "Include revoked grants.")
        var all = false

        @Option(help: "Output format: table or json (one object per line).")
        var format: AuditCommand.EntryFormat = .table

        func run() async throws {
            let grants = try await database.openExisting().grants.list(includingRevoked: all)
            switch format {
            case .json:
                grants.forEach { print(JSONWriter.write($0.json)) }
            case .table:
                let rows = [["ID", "LABEL", "IDENTITY", "SERVERS", "POLICY", "CREATED", "STATUS"]] + grants.map { grant in
                    [grant.id, grant.label, grant.identity, grant.servers.joined(separator: ","), grant.policy,
                     grant.createdAt.formatted(.iso8601), grant.isActive ? "active" : "revoked"]
                }
                printTable(rows)
            }
        }
    }

    /// `warden grants rotate`
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a grant a new token; the old one stops working at once.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The grant's id.")
        var id: String

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let grants = try await database.openExisting().grants
            GrantsCommand.printIssued(try await GrantsCommand.attempt { try await grants.rotate(id: id) }, format: output.format)
        }
    }

    /// `warden grants revoke`
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a grant; its token stops working at once.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The grant's id.")
        var id: String

        func run() async throws {
            let grants = try await database.openExisting().grants
            try await GrantsCommand.attempt { try await grants.revoke(id: id) }
            print("grant \(id) revoked")
        }
    }
}
