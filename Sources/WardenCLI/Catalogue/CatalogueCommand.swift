import ArgumentParser
import WardenCatalogue
import WardenCatalogueData

/// `warden catalogue`: what the shipped catalogue of real servers knows.
struct CatalogueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalogue",
        abstract: "Look up real MCP servers' tools, risks and starter policies in the shipped catalogue.",
        discussion: """
            The catalogue is built into the binary by catalogue/build: each server was installed \
            from PyPI, started without credentials and scanned with `warden scan`. Exit codes: 0 \
            found; 1 nothing found (the closest server names are suggested); 2 usage error.
            """,
        subcommands: [Search.self, Show.self, Policy.self]
    )

    /// The catalogue built into this binary.
    static func shipped() throws -> ShippedCatalogue {
        do {
            return try ShippedCatalogue(jsonLines: ShippedCatalogueData.jsonLines)
        } catch {
            printError("warden catalogue: the built-in catalogue is unreadable (\(error)); this is a bug in the build")
            throw ExitCode(2)
        }
    }

    /// The server called `name`, or exit 1 after naming the closest ones.
    static func entry(named name: String, in catalogue: ShippedCatalogue) throws -> CatalogueEntry {
        if let entry = catalogue.entry(named: name) { return entry }
        let suggestions = catalogue.suggestions(for: name)
        var message = "warden catalogue: no server named \(name) in the catalogue (\(catalogue.entries.count) servers)"
        if !suggestions.isEmpty { message += "; did you mean \(suggestions.joined(separator: ", "))?" }
        printError(message + " Try `warden catalogue search WORD`.")
        throw ExitCode(1)
    }
}

/// How `warden catalogue search` and `show` print.
enum CatalogueFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, markdown
}
