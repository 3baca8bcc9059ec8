import HTTPTypes
import Hummingbird
import Logging
import WardenMCP
import WardenStore

/// Establishes who calls an MCP route, from the bearer token: a grant token (`wdn_…`), or a
/// JWT when `auth.jwt` is configured (or anonymous, when so configured). A request without a
/// valid token gets 401 and goes no further.
struct CallerAuthentication: RouterMiddleware {
    typealias Context = GatewayRequestContext

    /// Whether every caller is served without a token (`listen.anonymous`).
    let anonymous: Bool
    let store: any StateStore
    /// Verifies identity-provider JWTs, when `auth.jwt` is configured.
    let jwt: JWTVerifier?
    let metrics: GatewayMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.caller = try await caller(of: request)
        return try await next(request, context)
    }

    /// The caller of `request`, or the refusal.
    func caller(of request: Request) async throws(MCPHTTPError) -> Caller {
        if anonymous { return .anonymous }
        guard let token = Caller.bearerToken(in: request.headers.value(.authorization)) else { throw .unauthorized }
        if let jwt, !token.hasPrefix(Grant.tokenPrefix) {
            do {
                return try await jwt.caller(for: token)
            } catch {
                throw .invalidToken("Unauthorized: \(error)")
            }
        }
        let grant: Grant?
        do {
            grant = try await store.grants.authenticate(token: token)
        } catch {
            logger.error("cannot read grants; request refused", metadata: ["error": "\(error)"])
            metrics.storeFailed()
            throw MCPHTTPError(
                .serviceUnavailable,
                "[POLICY DENIED] " + StoreUnavailable.reason(couldNot: "read its grants", so: "the request was refused"),
                code: JSONRPCError.internalError)
        }
        guard let grant else { throw .invalidToken("Unauthorized: the token is not a valid grant (revoked, rotated or mistyped)") }
        return Caller(grant: grant)
    }
}

extension MCPHTTPError {
    /// 401 for a request without a bearer token.
    static let unauthorized = MCPHTTPError(
        .unauthorized, "Unauthorized: send a Warden grant token as `Authorization: Bearer <token>`",
        headers: [.wwwAuthenticate: #"Bearer realm="warden""#])

    /// 401 for a bearer token that is not valid, saying why.
    static func invalidToken(_ message: String) -> MCPHTTPError {
        MCPHTTPError(.unauthorized, message, headers: [.wwwAuthenticate: #"Bearer realm="warden", error="invalid_token""#])
    }
}
