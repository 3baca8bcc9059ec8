import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WardenJSON
import WardenMCP

/// A remote MCP server on the legacy HTTP+SSE transport (2024-11-05), as a session's
/// upstream: a GET opens the server's event stream, whose first event names the endpoint to
/// POST messages to; every answer and server message arrives on the stream. The session lasts
/// as long as the stream; messages sent before the endpoint is known wait for it.
final class LegacySSEUpstream: Upstream {
    private let configuration: RemoteUpstream.Configuration
    private let mailbox: UpstreamMailbox
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var endpoint: String?
        var waiting: [[UInt8]] = []
        var listening: Task<Void, Never>?
        var stopped = false
    }

    init(configuration: RemoteUpstream.Configuration, logger: Logger) {
        self.configuration = configuration
        self.mailbox = UpstreamMailbox(serverName: configuration.serverName)
        self.logger = logger
        let task = Task { await self.listen() }
        state.withLock { $0.listening = task }
    }

    var messages: MessageQueue { mailbox.messages }

    /// POSTs the message in a task of its own, once the server has named its endpoint.
    func send(_ message: [UInt8]) async {
        let endpoint = state.withLock { state -> String? in
            if state.endpoint == nil && !state.stopped { state.waiting.append(message) }
            return state.endpoint
        }
        guard let endpoint else {
            if state.withLock(\.stopped) { fail(EnvelopeScanner.envelope(of: message), "has closed its event stream") }
            return
        }
        Task { await post(message, to: endpoint) }
    }

    var isFinished: Bool { state.withLock(\.stopped) }

    /// Closes the event stream, which ends the session on the server.
    func stop() {
        let (listening, waiting) = state.withLock { state in
            defer {
                state.stopped = true
                state.listening = nil
                state.waiting.removeAll()
            }
            return (state.listening, state.waiting)
        }
        listening?.cancel()
        waiting.forEach { fail(EnvelopeScanner.envelope(of: $0), "has closed its event stream") }
        mailbox.finish()
    }

    private func request(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        for (name, value) in configuration.headers { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    private func listen() async {
        var request = self.request(configuration.url)
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        do {
            let response = try await configuration.clients.streams.execute(request, timeout: .hours(24))
            guard response.status.code == 200 else { throw Failure(description: "the event stream answered HTTP \(response.status.code)") }
            var parser = ServerSentEventParser(maxEventBytes: configuration.maxMessageBytes)
            for try await chunk in response.body {
                for event in parser.append(chunk.readableBytesView) {
                    if event.type == "endpoint" {
                        opened(endpoint: String(decoding: event.data, as: UTF8.self))
                    } else if event.type == "message", !event.data.isEmpty {
                        mailbox.deliver(event.data)
                    }
                }
            }
        } catch {
            if !Task.isCancelled {
                logger.warning("a remote SSE server's event stream failed", metadata: ["server": "\(configuration.serverName)", "error": "\(error)"])
            }
        }
        stop()
    }

    /// The endpoint is known: the messages that waited for it go now, in order.
    private func opened(endpoint relative: String) {
        guard let endpoint = URL(string: relative, relativeTo: URL(string: configuration.url))?.absoluteString else {
            logger.error("a remote SSE server named an endpoint that is not a URL", metadata: ["server": "\(configuration.serverName)"])
            return
        }
        let waiting = state.withLock { state in
            defer { state.waiting.removeAll() }
            state.endpoint = endpoint
            return state.waiting
        }
        Task {
            for message in waiting { await post(message, to: endpoint) }
        }
    }

    private func post(_ message: [UInt8], to endpoint: String) async {
        var request = self.request(endpoint)
        request.method = .POST
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: message))
        do {
            let response = try await configuration.clients.requests.execute(request, timeout: .seconds(configuration.timeout.components.seconds))
            if !(200..<300).contains(response.status.code) {
                fail(EnvelopeScanner.envelope(of: message), "answered HTTP \(response.status.code)")
            }
        } catch {
            fail(EnvelopeScanner.envelope(of: message), "could not be reached")
        }
    }

    private func fail(_ request: MessageEnvelope, _ what: String) {
        mailbox.fail(request, because: what)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}
