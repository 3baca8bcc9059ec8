public import ArgumentParser

/// The `warden` command: an MCP policy gateway.
public struct Warden: AsyncParsableCommand {
    /// Warden's version, as `warden --version` prints it.
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "An MCP policy gateway: every tool call obeys your policy before it reaches the server.",
        discussion: """
            Exit codes: 0 ok; 1 a call is not allowed, or a test or check found something; \
            2 usage error or invalid input (an unreadable or invalid policy).
            """,
        version: version,
        subcommands: [RunCommand.self, ServeCommand.self, PolicyCommand.self, AuditCommand.self, GrantsCommand.self, ApprovalsCommand.self, AdminsCommand.self, StoreCommand.self, ConfigCommand.self, PinCommand.self, CatalogueCommand.self, ScanCommand.self]
    )

    public init() {}
}
