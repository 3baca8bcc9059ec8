import ArgumentParser

/// `warden store`: the store itself, as a whole.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Move Warden's state between stores (SQLite, PostgreSQL).",
        subcommands: [Migrate.self]
    )
}
