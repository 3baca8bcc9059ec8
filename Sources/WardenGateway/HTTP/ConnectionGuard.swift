import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// What a connection may cost before anyone is authenticated: how long it may take to send a
/// request head, a body, or its next request, and how many may be open at once.
///
/// A connection that sends part of a head, nothing at all, or part of a body is closed at its
/// deadline; past `maxConnections`, a new connection is answered 503 and closed. A request
/// whose body has arrived is being answered: its connection has no deadline until the answer
/// ends, so event streams (a session's GET, a held call's POST) are never cut.
final class ConnectionGuard: Sendable {
    struct Limits: Sendable {
        /// To complete a request head: from the connection's opening for its first request,
        /// from the head's first byte for the next ones.
        var header: TimeAmount
        /// To receive a body, from its head.
        var body: TimeAmount
        /// For a kept-alive connection to start its next request.
        var idle: TimeAmount
        var maxConnections: Int
    }

    let limits: Limits
    private let metrics: GatewayMetrics
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(limits: Limits, metrics: GatewayMetrics) {
        self.limits = limits
        self.metrics = metrics
    }

    convenience init(_ listen: GatewayConfiguration.Listen, metrics: GatewayMetrics) {
        self.init(
            limits: Limits(
                header: .seconds(Int64(listen.headerTimeoutSeconds)), body: .seconds(Int64(listen.bodyTimeoutSeconds)),
                idle: .seconds(Int64(listen.idleTimeoutSeconds)), maxConnections: listen.maxConnections),
            metrics: metrics)
    }

    /// An HTTP/1.1 server whose connections are guarded.
    func http1() -> HTTPServerBuilder {
        HTTPServerBuilder { [self] responder in
            GuardedHTTP1Channel(http1: HTTP1Channel(responder: responder), connections: self)
        }
    }

    /// The connections open now.
    var count: Int { open.withLock(\.count) }

    /// Counts a new connection in, unless `maxConnections` are open: then it is refused.
    func admit(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let admitted = open.withLock { open in
            guard open.count < limits.maxConnections else { return false }
            open[key] = channel
            return true
        }
        guard admitted else {
            metrics.connectionRefused()
            return false
        }
        metrics.connectionOpened()
        channel.closeFuture.whenComplete { [self] _ in
            open.withLock { _ = $0.removeValue(forKey: key) }
            metrics.connectionClosed()
        }
        return true
    }

    /// Closes every connection (shutdown's last resort); returns how many there were.
    @discardableResult
    func closeAll() -> Int {
        let channels = open.withLock { Array($0.values) }
        for channel in channels { channel.close(promise: nil) }
        return channels.count
    }

    func timedOut(_ phase: ConnectionClock.Phase) {
        metrics.connectionTimedOut(phase.rawValue)
    }
}

/// Hummingbird's HTTP/1.1 channel, with a ``ConnectionGuard``'s handlers: one before the
/// HTTP decoder (it sees the bytes, and answers refused connections), one after it (it sees
/// where each request and answer begins and ends).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let connections: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = connections.admit(channel)
        return http1.setup(channel: channel, logger: logger).map { [connections] value in
            // Never a failed future here: it would end the server's stream of connections.
            do {
                let clock = ConnectionClock(channel: channel, connections: connections, refused: !admitted)
                let pipeline = channel.pipeline.syncOperations
                try pipeline.addHandler(RawConnectionHandler(clock: clock), position: .first)
                if admitted {
                    let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                    try pipeline.addHandler(RequestPhaseHandler(clock: clock), position: .after(decoder))
                }
            } catch {
                logger.error("could not set up a connection; closed", metadata: ["error": "\(error)"])
                channel.close(promise: nil)
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// One connection's deadline, kept by its two handlers on its event loop.
final class ConnectionClock {
    enum Phase: String {
        case header, body, idle
    }

    private let channel: any Channel
    private let connections: ConnectionGuard
    private var limits: ConnectionGuard.Limits { connections.limits }
    /// Beyond the limit: answered 503 and closed.
    let refused: Bool
    /// Requests whose head has arrived and whose answer has not ended.
    private var unanswered = 0
    /// A head has arrived, its body has not all.
    private var readingBody = false
    private var bodyStarted = NIODeadline.now()
    /// Since when the connection waits for a request (its opening, or the last answer's end).
    private var waitingSince = NIODeadline.now()
    /// When the first byte of the next head arrived, if it has.
    private var headStarted: NIODeadline?
    private var firstRequest = true
    private var active = false
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?

    init(channel: any Channel, connections: ConnectionGuard, refused: Bool) {
        self.channel = channel
        self.connections = connections
        self.refused = refused
    }

    /// When the connection is closed, and why, if it has a deadline now.
    private var deadline: (at: NIODeadline, phase: Phase)? {
        if readingBody { return (bodyStarted + limits.body, .body) }
        if unanswered > 0 { return nil }  // being answered: no deadline however long that takes
        if firstRequest { return (waitingSince + limits.header, .header) }
        if let headStarted { return (headStarted + limits.header, .header) }
        return (waitingSince + limits.idle, .idle)
    }

    func start() {
        guard !active else { return }
        active = true
        waitingSince = .now()
        reschedule()
    }

    func stop() {
        active = false
        timer?.cancel()
        timer = nil
        timerAt = nil
    }

    func bytesArrived() {
        guard !readingBody, unanswered == 0, !firstRequest, headStarted == nil else { return }
        headStarted = .now()
        reschedule()
    }

    func headArrived() {
        readingBody = true
        bodyStarted = .now()
        unanswered += 1
        firstRequest = false
        headStarted = nil
        reschedule()
    }

    func requestEnded() {
        readingBody = false
        reschedule()
    }

    func answerEnded() {
        unanswered = max(0, unanswered - 1)
        if unanswered == 0 {
            waitingSince = .now()
            headStarted = nil
        }
        reschedule()
    }

    /// Makes sure a timer fires no later than the deadline. One set for later is moved; one
    /// set for earlier stays (it finds the new deadline when it fires).
    private func reschedule() {
        guard active, let deadline else { return }
        if let timerAt, timerAt <= deadline.at { return }
        timer?.cancel()
        schedule(at: deadline.at)
    }

    private func schedule(at deadline: NIODeadline) {
        timerAt = deadline
        timer = channel.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in fire() }
    }

    private func fire() {
        timer = nil
        timerAt = nil
        guard active, let deadline else { return }
        if deadline.at <= .now() {
            active = false
            connections.timedOut(deadline.phase)
            channel.close(promise: nil)
        } else {
            schedule(at: deadline.at)
        }
    }
}

/// First in the pipeline: tells the clock when bytes arrive; answers a refused connection.
final class RawConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let clock: ConnectionClock
    private var closing: Scheduled<Void>?

    init(clock: ConnectionClock) {
        self.clock = clock
    }

    static let refusal: ByteBuffer = {
        let body = #"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Warden has too many connections open (listen.max_connections); retry later"}}"#
        return ByteBuffer(
            string: "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
                + "retry-after: 1\r\nconnection: close\r\n\r\n" + body)
    }()

    func channelActive(context: ChannelHandlerContext) {
        if clock.refused {
            // Answered and half-closed; what the client sends is read and dropped until it
            // closes (so that it sees the answer rather than a reset), for a second at most.
            context.writeAndFlush(wrapOutboundOut(Self.refusal), promise: nil)
            context.close(mode: .output, promise: nil)
            let context = context
            closing = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
        } else {
            clock.start()
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if clock.refused { return }
        clock.bytesArrived()
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if clock.refused, let event = event as? ChannelEvent, case .inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.stop()
        closing?.cancel()
        closing = nil
        context.fireChannelInactive()
    }
}

/// After the HTTP decoder: tells the clock where requests and answers begin and end.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let clock: ConnectionClock

    init(clock: ConnectionClock) {
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock.headArrived()
        case .body: break
        case .end: clock.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { clock.answerEnded() }
        context.write(data, promise: promise)
    }
}
