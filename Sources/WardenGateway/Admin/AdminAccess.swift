import HTTPTypes
import Hummingbird
import Logging
import WardenJSON
import WardenStore

/// A refusal of the admin API: a JSON body `{"error": …}` with the status.
struct AdminAPIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="warden-admin""# }
        let body = JSONWriter.write(["error": .string(message)])
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension AdminRoutes {
    /// The name of the cookie the dashboard keeps the admin token in.
    static let adminCookie = "warden_admin"

    /// The admin token of a request, from `Authorization: Bearer wda_…` or the dashboard's cookie.
    static func adminSecret(of request: Request) -> String? {
        if let token = Caller.bearerToken(in: request.headers.value(.authorization)) { return token }
        return request.cookies[adminCookie]?.value
    }

    /// The admin token of `request` if it is valid and has at least `role`; otherwise 401
    /// (no valid token) or 403 (a weaker role).
    func admin(_ request: Request, needs role: AdminToken.Role) async throws -> AdminToken {
        try await admin(secret: Self.adminSecret(of: request), needs: role)
    }

    /// The admin token `secret` if it is valid and has at least `role`.
    func admin(secret: String?, needs role: AdminToken.Role) async throws -> AdminToken {
        guard let secret, secret.hasPrefix(AdminToken.tokenPrefix) else {
            throw AdminAPIError(.unauthorized, "Unauthorized: send an admin token (`warden admins create`) as `Authorization: Bearer <token>`")
        }
        let token: AdminToken?
        do {
            token = try await store.adminTokens.authenticate(secret: secret)
        } catch {
            logger.error("cannot read admin tokens; request refused", metadata: ["error": "\(error)"])
            throw AdminAPIError(.serviceUnavailable, "Warden cannot read its admin tokens right now")
        }
        guard let token else { throw AdminAPIError(.unauthorized, "Unauthorized: the admin token is not valid (revoked or mistyped)") }
        guard token.role >= role else {
            let article = token.role == .viewer ? "a" : "an"
            throw AdminAPIError(.forbidden, "Forbidden: \(token.name) is \(article) \(token.role.rawValue); this needs the \(role.rawValue) role")
        }
        return token
    }
}
