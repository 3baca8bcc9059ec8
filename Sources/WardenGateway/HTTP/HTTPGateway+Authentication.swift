import Hummingbird
import Logging
import WardenMCP
import WardenStore

/// Who is calling, and whether they may reach the server they ask for.
extension HTTPGateway {
    /// The server named in the path and the caller, authenticated and allowed to reach it.
    func endpoint(_ request: Request, context: BasicRequestContext) async throws -> (GatewayConfiguration.Server, Caller) {
        let name = context.parameters.get("server") ?? ""
        let caller = try await authenticate(request)
        guard let server = servers[name] else {
            throw MCPHTTPError(.notFound, "Not Found: no server named \(name) behind this gateway")
        }
        guard caller.mayReach(name) else {
            throw MCPHTTPError(.forbidden, "Forbidden: this grant does not reach the server \(name)")
        }
        return (server, caller)
    }

    /// The caller of a request, from its bearer token: a grant token (`wdn_…`), or a JWT when
    /// `auth.jwt` is configured (or anonymous, when so configured).
    func authenticate(_ request: Request) async throws -> Caller {
        if configuration.listen.anonymous { return .anonymous }
        let unauthorized = MCPHTTPError(
            .unauthorized, "Unauthorized: send a Warden grant token as `Authorization: Bearer <token>`",
            headers: [.wwwAuthenticate: #"Bearer realm="warden""#])
        guard let token = Caller.bearerToken(in: request.headers[.authorization]) else { throw unauthorized }
        if let jwt, !token.hasPrefix(GrantStore.tokenPrefix) {
            do {
                return try await jwt.caller(for: token)
            } catch {
                throw MCPHTTPError(
                    .unauthorized, "Unauthorized: \(error)",
                    headers: [.wwwAuthenticate: #"Bearer realm="warden", error="invalid_token""#])
            }
        }
        let grant: Grant?
        do {
            grant = try store.grants.authenticate(token: token)
        } catch {
            logger.error("cannot read grants; request refused", metadata: ["error": "\(error)"])
            metrics.storeFailed()
            throw MCPHTTPError(.serviceUnavailable, "Warden cannot read its grants right now", code: JSONRPCError.internalError)
        }
        guard let grant else {
            throw MCPHTTPError(
                .unauthorized, "Unauthorized: the token is not a valid grant (revoked, rotated or mistyped)",
                headers: [.wwwAuthenticate: #"Bearer realm="warden", error="invalid_token""#])
        }
        return Caller(grant: grant)
    }
}
