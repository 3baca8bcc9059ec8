import Foundation
import NIOCore
import NIOPosix

/// A TCP connection opened and closed to a remote server's host and port before it is spoken
/// to: a refused or unresolvable address fails at once with what to check, where the HTTP
/// client would retry until the request's deadline.
enum RemoteProbe {
    static func check(_ target: InspectionTarget, timeout: Duration) async throws(InspectionError) {
        guard case .remote(let url, _, _) = target else { return }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = parsed.host,
            !host.isEmpty
        else {
            throw InspectionError(.unreachable, target: url, stage: "connecting", detail: "not an http(s) URL", hint: "Give the server's URL, like http://127.0.0.1:8000/mcp.")
        }
        let port = parsed.port ?? (scheme == "https" ? 443 : 80)
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(min(timeout, .seconds(10)) / .nanoseconds(1))))
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close()
        } catch {
            throw InspectionError(
                .unreachable, target: url, stage: "connecting", detail: "could not connect to \(host):\(port): \(error)",
                hint: "Check the URL, and that the server is running and listening there.")
        }
    }
}
