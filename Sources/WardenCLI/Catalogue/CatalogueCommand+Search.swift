import ArgumentParser
import WardenCatalogue
import WardenJSON

extension CatalogueCommand {
    /// `warden catalogue search WORD`
    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find servers and tools by a word in a server's name or a tool's name, class or description.",
            discussion: "Exits 1 when nothing matches."
        )

        @Argument(help: "The word to look for (case-insensitive), e.g. git, sql, payment, destructive.")
        var word: String

        @Option(help: "Output format: table, json or markdown.")
        var format: CatalogueFormat = .table

        func validate() throws {
            if word.allSatisfy(\.isWhitespace) { throw ValidationError("Give a word to search for.") }
        }

        func run() async throws {
            let catalogue = try CatalogueCommand.shipped()
            let matches = CatalogueSearch.search(word, in: catalogue)
            if matches.isEmpty {
                let suggestions = catalogue.suggestions(for: word)
                var message = "warden catalogue: nothing matches \(word) in \(catalogue.entries.count) servers"
                if !suggestions.isEmpty { message += "; the closest server names are \(suggestions.joined(separator: ", "))" }
                printError(message)
                throw ExitCode(1)
            }
            switch format {
            case .json: print(JSONValue.array(matches.map(Self.json)))
            case .table: printTable([["SERVER", "TOOL", "CLASS", "RISK"]] + matches.flatMap(Self.rows))
            case .markdown:
                print(CatalogueMarkdown.table(header: ["Server", "Tool", "Class", "Risk"], rows: matches.flatMap(Self.rows)))
            }
        }

        static func rows(_ match: CatalogueMatch) -> [[String]] {
            if match.tools.isEmpty {
                return [[match.entry.name, "(\(match.entry.tools.count) tools)", "", ""]]
            }
            return match.tools.map { [match.entry.name, $0.name, $0.toolClass, $0.risk] }
        }

        static func json(_ match: CatalogueMatch) -> JSONValue {
            [
                "server": .string(match.entry.name),
                "version": .string(match.entry.version),
                "tools": .array(match.tools.map { ["name": .string($0.name), "class": .string($0.toolClass), "risk": .string($0.risk)] }),
            ]
        }
    }
}
