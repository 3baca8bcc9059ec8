import Hummingbird
import Logging

/// The request context of the gateway's routes: Hummingbird's own, and the caller once
/// ``CallerAuthentication`` has established who it is.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Who is calling; set by ``CallerAuthentication`` on the routes it guards.
    var caller: Caller?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// The authenticated caller; 401 on a route ``CallerAuthentication`` does not guard.
    func requireCaller() throws(MCPHTTPError) -> Caller {
        guard let caller else { throw .unauthorized }
        return caller
    }
}
