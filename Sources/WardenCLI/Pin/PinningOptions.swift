public import ArgumentParser
import Foundation
import Logging
import WardenCatalogue
import WardenGateway

extension ToolDefinitionGuard.Action: ExpressibleByArgument {}

extension Severity: ExpressibleByArgument {}

/// `warden run`'s pinning and poisoning flags: `--pin FILE`, `--on-drift`, `--on-poisoning`.
struct PinningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A lock file written by `warden pin`: tools whose definitions drift from it are handled as --on-drift says.", valueName: "file"))
    var pin: String?

    @Option(help: ArgumentHelp("With --pin: what happens to a tool that drifted (changed, new, or removed): block (hidden and refused as unknown), require_approval (each call held) or log (default: block).", valueName: "action"))
    var onDrift: ToolDefinitionGuard.Action?

    @Option(help: ArgumentHelp("Check tool definitions for poisoning (hidden instructions, invisible Unicode, exfiltration hints) and block, require_approval or log tools with a finding (default: no check).", valueName: "action"))
    var onPoisoning: ToolDefinitionGuard.Action?

    @Option(help: ArgumentHelp("With --on-poisoning: the least severity of a finding that counts: info, low, medium, high or critical (default: high).", valueName: "severity"))
    var poisoningSeverity: Severity?

    func validate() throws {
        if onDrift != nil && pin == nil { throw ValidationError("--on-drift needs --pin FILE (a lock file written by `warden pin`).") }
        if poisoningSeverity != nil && onPoisoning == nil { throw ValidationError("--poisoning-severity needs --on-poisoning.") }
    }

    /// The guard of a session with `server`, or `nil` when nothing is checked. Exits 2 when the
    /// lock file cannot be used: Warden does not run a server unpinned that was meant to be pinned.
    func definitionGuard(server: String, logger: Logger) throws -> ToolDefinitionGuard? {
        let book: PinBook?
        do {
            book = try pin.map { path throws(LockFileError) in try PinBook.load(path: path) }
        } catch {
            throw failure(error.description)
        }
        let settings = ToolDefinitionGuard.Configuration(
            server: server, pins: book, onDrift: onDrift ?? .block, onPoisoning: onPoisoning, poisoningSeverity: poisoningSeverity ?? .high)
        guard settings.isActive else { return nil }
        if let book, book.lock.servers[server] == nil {
            logger.warning(
                "the lock file pins nothing for this server: every tool it lists is drift",
                metadata: ["server": "\(server)", "lock": "\(book.path)", "servers pinned": "\(book.lock.servers.keys.sorted().joined(separator: ","))"])
        }
        return ToolDefinitionGuard(settings)
    }

    /// The name `warden run` and `warden pin` give a server when `--server` does not: the
    /// command's file name (`/usr/bin/mcp-server-git` → `mcp-server-git`).
    static func defaultServerName(_ command: [String]) -> String {
        URL(fileURLWithPath: command.first ?? "server").lastPathComponent
    }
}
