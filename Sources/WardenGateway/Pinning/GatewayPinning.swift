import Logging
import WardenCatalogue

/// What `warden serve` pins and checks: the lock file of `pin:`, read at start (one that cannot
/// be read stops the gateway from starting), and a ``ToolDefinitionGuard`` per server.
struct GatewayPinning: Sendable {
    /// The pins; `nil` without `pin:`.
    let book: PinBook?
    /// Each server's guard, by server name; none for a server nothing is checked on.
    let guards: [String: ToolDefinitionGuard]

    /// - Throws: ``LockFileError`` when the lock file cannot be used.
    init(configuration: GatewayConfiguration, logger: Logger) throws {
        let book = try configuration.pinning.lockPath.map { path throws(LockFileError) in try PinBook.load(path: path) }
        var guards: [String: ToolDefinitionGuard] = [:]
        for server in configuration.servers {
            let settings = configuration.guardConfiguration(for: server, pins: book)
            guard settings.isActive else { continue }
            guards[server.name] = ToolDefinitionGuard(settings)
            if let book, book.lock.servers[server.name] == nil {
                logger.warning(
                    "the lock file pins nothing for this server: every tool it lists is drift",
                    metadata: ["server": "\(server.name)", "lock": "\(book.path)", "fix": "warden pin --config FILE --server \(server.name)"])
            }
        }
        self.book = book
        self.guards = guards
    }
}
