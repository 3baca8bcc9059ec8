import HTTPTypes
import Hummingbird

/// Which pages and host names may address the gateway: requests from browsers' pages that are
/// not allowed (`Origin`) get 403, and requests addressed to another host name (`Host`, how
/// DNS rebinding reaches a loopback server) get 421.
struct OriginPolicy: Sendable {
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

    /// Throws the refusal for a request with these headers, if it is refused. The dashboard's
    /// own pages (under `/admin`) may post to it from the gateway's own origin; MCP endpoints
    /// accept only the allowed Origins, whatever the Host.
    func check(origin: String?, authority: String?, path: String = "/") throws {
        if let origin, !allowedOrigins.contains(origin),
            !(path.hasPrefix("/admin/") && Self.isSameOrigin(origin, authority: authority))
        {
            throw MCPHTTPError(.forbidden, "Forbidden: the Origin \(origin) is not allowed (listen.allowed_origins)")
        }
        if !allowedHosts.isEmpty {
            let host = Self.hostName(authority ?? "")
            guard allowedHosts.contains(host) else {
                throw MCPHTTPError(.misdirectedRequest, "Misdirected Request: the Host \(host) is not served here (listen.allowed_hosts)")
            }
        }
    }

    static func isSameOrigin(_ origin: String, authority: String?) -> Bool {
        guard let authority, !authority.isEmpty else { return false }
        return origin.lowercased() == "http://" + authority.lowercased() || origin.lowercased() == "https://" + authority.lowercased()
    }

    /// The host name of a `Host` header: without its port, brackets or letter case.
    static func hostName(_ authority: String) -> String {
        // Most Host headers are lower-case ASCII already (`127.0.0.1:8940`): lowering them
        // anew cost a string a request.
        let isLowerASCII = authority.utf8.allSatisfy { $0 < 0x80 && !($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) }
        var host = Substring(isLowerASCII ? authority : authority.lowercased())
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<end])
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        return String(host)
    }
}

/// Applies the ``OriginPolicy`` to every request.
struct RequestOriginGuard<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try policy.check(origin: request.headers.value(.origin), authority: request.head.authority, path: request.uri.path)
        return try await next(request, context)
    }
}
