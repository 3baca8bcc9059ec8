import ArgumentParser
import WardenCatalogue

extension CatalogueCommand {
    /// `warden catalogue policy SERVER`
    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a catalogued server's starter policy (YAML), e.g. `warden catalogue policy mcp-server-git > policy.yaml`.",
            discussion: "The policy `warden scan --emit-policy` wrote for the scanned version; it passes `warden policy check`."
        )

        @Argument(help: "The server's name in the catalogue: its PyPI package name, e.g. mcp-server-git.")
        var server: String

        func run() async throws {
            let entry = try CatalogueCommand.entry(named: server, in: CatalogueCommand.shipped())
            print(entry.policy, terminator: entry.policy.hasSuffix("\n") ? "" : "\n")
        }
    }
}
