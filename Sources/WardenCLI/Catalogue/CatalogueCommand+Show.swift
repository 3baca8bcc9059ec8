import ArgumentParser
import WardenCatalogue
import WardenJSON

extension CatalogueCommand {
    /// `warden catalogue show SERVER`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a catalogued server's tools with their class, risk and rationale.",
            discussion: "The JSON is the server's whole catalogue entry, as `warden scan --format json` reported it plus the package it came from."
        )

        @Argument(help: "The server's name in the catalogue: its PyPI package name, e.g. mcp-server-git.")
        var server: String

        @Option(help: "Output format: table, json or markdown.")
        var format: CatalogueFormat = .table

        func run() async throws {
            let entry = try CatalogueCommand.entry(named: server, in: CatalogueCommand.shipped())
            switch format {
            case .json: print(entry.report)
            case .table:
                print(Self.heading(entry))
                printTable([["TOOL", "CLASS", "RISK", "RATIONALE"]] + entry.tools.map { [$0.name, $0.toolClass, $0.risk, $0.rationale] })
            case .markdown:
                print("## \(entry.name) \(entry.version)\n\n\(Self.heading(entry))\n")
                print(CatalogueMarkdown.table(
                    header: ["Tool", "Class", "Risk", "Rationale"],
                    rows: entry.tools.map { ["`\($0.name)`", $0.toolClass, $0.risk, $0.rationale] }
                ))
            }
        }

        /// `mcp-server-git 2026.10.19: 12 tools (read 6, write 5, destructive 1), grade C; started with `mcp-server-git``
        static func heading(_ entry: CatalogueEntry) -> String {
            let classes = entry.classCounts.map { "\($0.toolClass) \($0.count)" }.joined(separator: ", ")
            var line = "\(entry.name) \(entry.version): \(entry.tools.count) tools (\(classes))"
            if let grade = entry.grade { line += ", grade \(grade)" }
            return line + "; started with `\(entry.command.joined(separator: " "))`"
        }
    }
}
