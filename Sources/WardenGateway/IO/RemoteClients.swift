import AsyncHTTPClient
import NIOCore
import Synchronization

/// The HTTP clients remote servers are reached with: one pool of connections for requests
/// (POSTs, DELETEs, the resumption of a call's stream) and one for the sessions' long-lived
/// event streams (one GET per session, open as long as it lasts).
///
/// A stream holds its connection for the whole session. In one pool with the requests, a
/// few streams to a host (AsyncHTTPClient's default is 8 connections per host) would take
/// every connection, and every request to that host would then wait for ever. Apart, streams
/// can only wait for streams; each pool's size per host is configured
/// (`limits.upstream_connections_per_host`, `limits.upstream_streams_per_host`).
///
/// The clients are made on first use (a gateway that reaches no remote server makes none)
/// and must be shut down with ``shutdown()``.
final class RemoteClients: Sendable {
    private let connectionsPerHost: Int
    private let streamsPerHost: Int
    private let requestSilence: TimeAmount
    private let clients = Mutex<(requests: HTTPClient?, streams: HTTPClient?, shutDown: Bool)>((nil, nil, false))

    /// - Parameter upstreamTimeout: How long a request may wait for its server
    ///   (`upstream_timeout`): also the longest silence allowed in an answer being received.
    init(connectionsPerHost: Int, streamsPerHost: Int, upstreamTimeout: Duration) {
        self.connectionsPerHost = connectionsPerHost
        self.streamsPerHost = streamsPerHost
        self.requestSilence = .seconds(max(upstreamTimeout.components.seconds, 1))
    }

    /// For requests: POSTs, DELETEs, and GETs resuming a call's event stream.
    var requests: HTTPClient {
        client(\.requests, connectionsPerHost: connectionsPerHost, longestSilence: requestSilence)
    }

    /// For the sessions' own event streams (a GET open for the session's life).
    var streams: HTTPClient {
        client(\.streams, connectionsPerHost: streamsPerHost, longestSilence: Self.streamSilence)
    }

    /// How long a session's event stream may stay silent before it counts as broken (a peer
    /// gone without closing it): then a Streamable HTTP stream is opened again, and a legacy
    /// SSE session ends.
    static let streamSilence = TimeAmount.minutes(10)

    private func client(
        _ slot: WritableKeyPath<(requests: HTTPClient?, streams: HTTPClient?, shutDown: Bool), HTTPClient?>, connectionsPerHost: Int,
        longestSilence: TimeAmount
    ) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[keyPath: slot] { return client }
            // After shutdown, a late request gets the shared client rather than a new pool nobody would shut down.
            if clients.shutDown { return HTTPClient.shared }
            // As HTTPClient.shared (the platform's prevalent browser's settings), but for the pool
            // size and the timeouts. The browser's 90 s of silence would end a call longer than
            // that which `upstream_timeout` allows, or a quiet event stream; and a request's own
            // deadline covers only the wait for the answer's head, so silence in its body is
            // bounded here. A dead server is given up on after 10 s of failed attempts, not 90.
            var configuration = HTTPClient.Configuration.singletonConfiguration
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
            configuration.timeout = HTTPClient.Configuration.Timeout(connect: Self.connectTimeout, read: longestSilence)
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[keyPath: slot] = client
            return client
        }
    }

    /// How long a connection to a remote server may take, retries included.
    static let connectTimeout = TimeAmount.seconds(10)

    /// Shuts the clients down: requests and streams still running fail.
    func shutdown() async {
        let made = clients.withLock { clients in
            defer { clients = (nil, nil, true) }
            return [clients.requests, clients.streams].compactMap { $0 }
        }
        for client in made { try? await client.shutdown() }
    }
}
