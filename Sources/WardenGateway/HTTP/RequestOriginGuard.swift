import HTTPTypes
import Hummingbird
import NIOCore

/// Refuses requests from browsers' pages that are not allowed (`Origin`, 403) and requests
/// addressed to another host name (`Host`, 421), which is how DNS rebinding reaches a
/// loopback server.
struct RequestOriginGuard<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>
    /// Host names accepted; empty accepts any (a gateway on a public address names its own).
    let allowedHosts: Set<String>

    init(listen: GatewayConfiguration.Listen) {
        allowedOrigins = Set(listen.allowedOrigins)
        if !listen.allowedHosts.isEmpty {
            allowedHosts = Set(listen.allowedHosts.map { $0.lowercased() })
        } else if ["0.0.0.0", "::"].contains(listen.host) {
            allowedHosts = []
        } else {
            allowedHosts = [listen.host.lowercased(), "localhost", "127.0.0.1", "::1"]
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let origin = request.headers[.origin], !allowedOrigins.contains(origin) {
            throw MCPHTTPError(.forbidden, "Forbidden: the Origin \(origin) is not allowed (listen.allowed_origins)")
        }
        if !allowedHosts.isEmpty {
            let host = Self.hostName(request.head.authority ?? "")
            guard allowedHosts.contains(host) else {
                throw MCPHTTPError(.misdirectedRequest, "Misdirected Request: the Host \(host) is not served here (listen.allowed_hosts)")
            }
        }
        return try await next(request, context)
    }

    /// The host name of a `Host` header: without its port, brackets or letter case.
    static func hostName(_ authority: String) -> String {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<end])
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        return String(host)
    }
}
