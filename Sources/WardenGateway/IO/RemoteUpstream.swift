import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WardenJSON
import WardenMCP

/// A remote MCP server reached over Streamable HTTP, as a session's upstream: each client
/// message is POSTed; answers (a JSON body or an event stream) and the messages of the
/// server's GET stream are handed to the session's gateway as if read from a stdio server.
///
/// Only the configured headers are sent (never the client's `Authorization`). A server that
/// cannot be reached, or answers with an HTTP error, answers the request with -32603.
final class RemoteUpstream: Upstream {
    struct Configuration: Sendable {
        var serverName: String
        var url: String
        /// Sent with every request (credentials from the gateway configuration).
        var headers: [String: String]
        var timeout: Duration
        var maxMessageBytes: Int
        /// The connection pools: requests and long-lived streams apart.
        var clients: RemoteClients
    }

    private let configuration: Configuration
    /// When the client stops waiting for the answer to the request sent under an id.
    private let deadlines: @Sendable (JSONValue) -> ContinuousClock.Instant?
    private let mailbox: UpstreamMailbox
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var sessionID: String?
        var protocolVersion: String?
        var listening: Task<Void, Never>?
        var stopped = false
    }

    /// - Parameter deadlines: When the client stops waiting for the answer to the request
    ///   sent under an id; a call's request lasts at least until then.
    init(configuration: Configuration, deadlines: @escaping @Sendable (JSONValue) -> ContinuousClock.Instant?, logger: Logger) {
        self.configuration = configuration
        self.deadlines = deadlines
        self.mailbox = UpstreamMailbox(serverName: configuration.serverName)
        self.logger = logger
    }

    var messages: MessageQueue { mailbox.messages }

    /// POSTs the message in a task of its own: requests run concurrently, as over stdio.
    func send(_ message: [UInt8]) async {
        Task { await post(message) }
    }

    var isFinished: Bool { state.withLock(\.stopped) }

    /// Ends the remote session (DELETE) and the GET stream.
    func stop() {
        let (session, listening) = state.withLock { state in
            defer {
                state.stopped = true
                state.listening = nil
            }
            return (state.stopped ? nil : state.sessionID, state.listening)
        }
        listening?.cancel()
        mailbox.finish()
        guard let session else { return }
        Task {
            _ = try? await self.configuration.clients.requests.execute(self.request(.DELETE, session: session), timeout: .seconds(5))
        }
    }

    // MARK: - Client to server

    private func post(_ message: [UInt8]) async {
        let envelope = EnvelopeScanner.envelope(of: message)
        // Until the session is set up (initialize, then the GET stream), the method matters.
        let method = state.withLock { $0.listening == nil && !$0.stopped } ? Self.method(of: message) : nil
        var request = self.request(.POST, session: state.withLock(\.sessionID))
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: message))
        do {
            let response = try await configuration.clients.requests.execute(request, timeout: .seconds(configuration.timeout.components.seconds))
            if method == "initialize", let session = response.headers.first(name: "Mcp-Session-Id") {
                state.withLock { $0.sessionID = session }
            }
            switch response.status.code {
            case 202:
                if method == "notifications/initialized" { listen() }
            case 200..<300:
                if response.headers.first(name: "Content-Type")?.lowercased().hasPrefix("text/event-stream") == true {
                    let awaited = envelope.hasMethod ? envelope.id : nil
                    let deadline = callDeadline(of: envelope.id)
                    let first = await deliverEvents(of: response.body, awaiting: awaited, until: deadline)
                    let end = await resumingUntilAnswered(awaited, after: first, until: deadline)
                    if awaited != nil && !end.answered {
                        fail(envelope, "ended its event stream without answering")
                    }
                } else {
                    let body = Array(try await response.body.collect(upTo: configuration.maxMessageBytes).readableBytesView)
                    if method == "initialize" { rememberVersion(from: body) }
                    deliver(body)
                }
                if method == "notifications/initialized" { listen() }
            case 404 where state.withLock(\.sessionID) != nil:
                fail(envelope, "ended the session (HTTP 404)")
            default:
                fail(envelope, "answered HTTP \(response.status.code)")
            }
        } catch is NIOTooManyBytesError {
            fail(envelope, "answered with more than \(configuration.maxMessageBytes) bytes")
        } catch {
            logger.warning("a remote server could not be reached", metadata: ["server": "\(configuration.serverName)", "error": "\(error)"])
            fail(envelope, "could not be reached")
        }
    }

    private func request(_ method: HTTPMethod, session: String?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: configuration.url)
        request.method = method
        for (name, value) in configuration.headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let session { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: session) }
        if let version = state.withLock(\.protocolVersion) { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
        return request
    }

    private func fail(_ request: MessageEnvelope, _ what: String) {
        mailbox.fail(request, because: what)
    }

    // MARK: - Server to client

    private func deliver(_ message: [UInt8]) {
        mailbox.deliver(message)
    }

    /// Where an event stream stopped: the id of its last event, the wait its server asked
    /// for before reconnecting, and whether the awaited request got its answer on it.
    private struct StreamEnd {
        var lastEventID: String?
        var retry = Duration.seconds(1)
        var answered = false
    }

    /// Delivers a stream's events until it ends (or breaks off).
    private func deliverEvents(of body: HTTPClientResponse.Body, awaiting awaited: JSONValue? = nil) async -> StreamEnd {
        var parser = ServerSentEventParser(maxEventBytes: configuration.maxMessageBytes)
        var end = StreamEnd()
        do {
            for try await chunk in body {
                for event in parser.append(chunk.readableBytesView) where event.type == "message" && !event.data.isEmpty {
                    if state.withLock({ $0.protocolVersion == nil }) { rememberVersion(from: event.data) }
                    if let awaited, !end.answered {
                        let envelope = EnvelopeScanner.envelope(of: event.data)
                        end.answered = !envelope.hasMethod && envelope.id.map { Self.isAnswer($0, to: awaited) } == true
                    }
                    deliver(event.data)
                }
            }
        } catch {
            logger.debug("an event stream of a remote server broke off", metadata: ["server": "\(configuration.serverName)", "error": "\(error)"])
        }
        end.lastEventID = parser.lastEventID
        end.retry = parser.retryMilliseconds.map { .milliseconds(min(max($0, 100), 60_000)) } ?? end.retry
        return end
    }

    /// Whether an answer's id is the request's: Warden's own numeric ids match however the
    /// server spells them (`7.0` for `7`).
    static func isAnswer(_ id: JSONValue, to request: JSONValue) -> Bool {
        if let answered = SessionPipeline.forwardedID(id), let sent = SessionPipeline.forwardedID(request) { return answered == sent }
        return RequestKey(id) == RequestKey(request)
    }

    /// When a call gives up on its server: the upstream timeout after it was sent, or later
    /// if the client side's wait for it was extended (a caller answering an `input_required`
    /// round, an approval).
    private func callDeadline(of id: JSONValue?) -> @Sendable () -> ContinuousClock.Instant {
        let fixed = ContinuousClock.now + configuration.timeout
        guard let id else { return { fixed } }
        return { [deadlines] in max(fixed, deadlines(id) ?? fixed) }
    }

    /// ``deliverEvents(of:awaiting:)``, given up at the call's deadline (the stream is
    /// cancelled; what it delivered until then counts): a server that neither answers nor
    /// closes cannot keep the call's task, connection and counts for ever.
    private func deliverEvents(
        of body: HTTPClientResponse.Body, awaiting awaited: JSONValue?, until deadline: @escaping @Sendable () -> ContinuousClock.Instant
    ) async -> StreamEnd {
        await withTaskGroup(of: StreamEnd?.self) { group in
            group.addTask { await self.deliverEvents(of: body, awaiting: awaited) }
            group.addTask {
                // The deadline may move while the stream runs: sleep until it stops moving.
                var until = deadline()
                while !Task.isCancelled, ContinuousClock.now < until {
                    try? await Task.sleep(until: until)
                    until = deadline()
                }
                return nil
            }
            var end: StreamEnd?
            while end == nil, let next = await group.next() {
                end = next
                group.cancelAll()  // the first to finish ends the other: the deadline cancels the stream
            }
            return end ?? StreamEnd()
        }
    }

    /// A POST's event stream that ended before answering `awaited` is resumed, as the
    /// server may ask by closing it: a GET with `Last-Event-ID`, after the wait it named,
    /// replays what followed; again each time it closes, until the answer comes, the upstream
    /// timeout passes, or five attempts in a row fail.
    private func resumingUntilAnswered(
        _ awaited: JSONValue?, after first: StreamEnd, until deadline: @escaping @Sendable () -> ContinuousClock.Instant
    ) async -> StreamEnd {
        var end = first
        var failures = 0
        while let awaited, !end.answered, let lastEventID = end.lastEventID, failures < 5, ContinuousClock.now < deadline(),
            !state.withLock(\.stopped)
        {
            try? await Task.sleep(until: min(.now + end.retry, deadline()))
            var request = self.request(.GET, session: state.withLock(\.sessionID))
            request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
            request.headers.replaceOrAdd(name: "Last-Event-ID", value: lastEventID)
            let remaining = deadline() - .now
            guard remaining > .zero,
                let response = try? await configuration.clients.requests.execute(
                    request, deadline: .now() + .nanoseconds(Int64(remaining / .nanoseconds(1)))),
                response.status.code == 200
            else {
                failures += 1
                continue
            }
            let resumed = await deliverEvents(of: response.body, awaiting: awaited, until: deadline)
            // A resumption that brought nothing new counts as a failure, so a server cannot keep
            // Warden polling it in a tight loop.
            failures = resumed.lastEventID == nil || resumed.lastEventID == lastEventID ? failures + 1 : 0
            end = StreamEnd(lastEventID: resumed.lastEventID ?? lastEventID, retry: resumed.retry, answered: resumed.answered)
        }
        return end
    }

    /// Opens the server's GET stream once the session is initialized, and keeps it open
    /// (reconnecting, with `Last-Event-ID` once its events carried ids, after the wait the
    /// server asked for) until the session stops. A server without one says 405.
    private func listen() {
        let task = Task {
            var failures = 0
            var resumeAfter: String?
            var retry = Duration.seconds(1)
            while !Task.isCancelled && failures < 5 {
                var request = self.request(.GET, session: state.withLock(\.sessionID))
                request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
                if let resumeAfter { request.headers.replaceOrAdd(name: "Last-Event-ID", value: resumeAfter) }
                do {
                    // A connection of the streams' own pool: this one stays open for the session.
                    let response = try await configuration.clients.streams.execute(request, timeout: .hours(24))
                    if response.status.code == 405 { return }
                    if response.status.code == 200 {
                        failures = 0
                        let end = await deliverEvents(of: response.body)
                        resumeAfter = end.lastEventID ?? resumeAfter
                        retry = end.retry
                    } else {
                        failures += 1
                    }
                } catch {
                    failures += 1
                }
                try? await Task.sleep(for: retry)
            }
        }
        let previous = state.withLock { state -> Task<Void, Never>? in
            defer { state.listening = state.stopped ? nil : task }
            return state.listening
        }
        previous?.cancel()
        if state.withLock(\.stopped) { task.cancel() }
    }

    private func rememberVersion(from answer: [UInt8]) {
        guard case .string(let version)? = (try? JSONReader.parse(answer))?["result"]?["protocolVersion"] else { return }
        state.withLock { $0.protocolVersion = version }
    }

    /// The method of a message, read only until the session is set up (the envelope's would
    /// miss a `method` key spelled with escapes).
    private static func method(of message: [UInt8]) -> String? {
        (try? JSONReader.parse(message))?["method"]?.stringValue
    }
}
