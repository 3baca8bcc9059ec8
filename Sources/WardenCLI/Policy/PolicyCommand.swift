import ArgumentParser

/// `warden policy`: check, evaluate and test policies without running a gateway.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, evaluate and test policies.",
        subcommands: [Check.self, Eval.self, Test.self]
    )
}
