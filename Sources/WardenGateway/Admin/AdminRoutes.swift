import Hummingbird
import Logging
import WardenStore

/// The operators' side of the gateway: the admin API under `/admin/api` and the web
/// dashboard under `/admin`, each request authenticated by an admin token (see `AdminAccess.swift`).
struct AdminRoutes: Sendable {
    let store: any StateStore
    /// The servers behind the gateway, in configuration order.
    let servers: [GatewayConfiguration.Server]
    /// The policies of the servers and grants, which the API reloads and grants must name.
    let policies: PolicyLibrary
    /// The names of the tools live sessions have seen, by server.
    let toolsSeen: @Sendable () -> [String: Set<String>]
    let logger: Logger
    /// The pins of `pin:`, which approvers re-pin; `nil` without.
    var pins: PinBook? = nil
    /// Where re-pins are audited.
    var audit: AuditWriter? = nil

    /// Adds the admin API and the dashboard to `router`.
    func add(to router: Router<GatewayRequestContext>) {
        addApprovalChanges(to: router)
        addAPI(to: router)
        addDashboard(to: router)
        addPins(to: router)
    }
}
