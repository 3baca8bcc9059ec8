import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import WardenJSON
import WardenMCP

/// A session Warden set up itself (with its own `initialize`) with a stateful server, to
/// serve one caller's stateless requests to it.
final class StatelessSession: Sendable {
    let session: HTTPSession
    /// The server's capabilities, from its `initialize` answer, for `server/discover`.
    let capabilities: JSONValue
    private let requests = Atomic<Int>(0)

    init(session: HTTPSession, capabilities: JSONValue) {
        self.session = session
        self.capabilities = capabilities
    }

    /// A fresh id for a forwarded request: stateless clients all start at 1.
    func nextID() -> JSONValue {
        .string("warden-stateless-\(requests.add(1, ordering: .relaxed).newValue)")
    }
}

extension HTTPGateway {
    /// A stateless (2026-07-28) request: checked, then answered by Warden (`server/discover`)
    /// or forwarded through the caller's session with the server, as the policy decides.
    func postStateless(
        _ value: JSONValue, headers: HTTPFields, caller: Caller, server: GatewayConfiguration.Server, httpRequest: String
    ) async -> Response {
        guard case .object(var body) = value, case .string(let method)? = body["method"] else {
            return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.invalidRequest, message: "Invalid Request: a stateless POST carries one request"), id: value["id"])
        }
        guard let id = body["id"], id != .null else { return Response(status: .accepted) }
        do {
            try StatelessExchange.check(body, headers: headers)
        } catch {
            return Self.stateless(error, id: id)
        }
        let timeout = Duration.seconds(configuration.limits.upstreamTimeoutSeconds)
        let upstream: StatelessSession
        do {
            upstream = try await statelessSession(for: caller, server: server, timeout: timeout)
        } catch {
            logger.error("could not open a session for stateless requests", metadata: ["server": "\(server.name)", "error": "\(error)"])
            return Self.stateless(StatelessExchange.Refusal(code: JSONRPCError.internalError, message: "Warden could not start the server \(server.name)"), id: id)
        }
        if method == "server/discover" {
            let result: JSONValue = [
                "supportedVersions": .array(StatelessExchange.versions.map(JSONValue.string)),
                "capabilities": upstream.capabilities, "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
            ]
            return Self.json(.ok, Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": result]).utf8))
        }
        let forwardedID = upstream.nextID()
        body = StatelessExchange.handshakeEra(body)
        body.set("id", to: forwardedID)
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        let answer = await upstream.session.exchange(
            [Array(JSONWriter.write(.object(body)).utf8)], requests: [(RequestKey(forwardedID), forwardedID)], timeout: timeout,
            httpRequest: httpRequest)[0]
        let code = (try? JSONReader.parse(answer))?["error"]?["code"]?.numberValue.flatMap { Int($0.text) }
        let status = code.map { StatelessExchange.Refusal(code: $0, message: "").status } ?? .ok
        return Self.json(status, StatelessExchange.answer(answer, id: id, method: method))
    }

    /// The caller's session with `server` for stateless requests, opened and initialized on
    /// first use; concurrent first requests share one.
    func statelessSession(for caller: Caller, server: GatewayConfiguration.Server, timeout: Duration) async throws -> StatelessSession {
        let key = caller.owner + "\n" + server.name
        let task = statelessSessions.withLock { sessions in
            if let existing = sessions[key] { return existing }
            let task = Task { try await self.openStatelessSession(for: caller, server: server, timeout: timeout) }
            sessions[key] = task
            return task
        }
        do {
            let session = try await task.value
            if !session.session.isClosed { return session }
        } catch {
            statelessSessions.withLock { _ = $0.removeValue(forKey: key) }
            throw error
        }
        // The server went away (or the session idled out): start again.
        statelessSessions.withLock { sessions in if sessions[key] == task { sessions.removeValue(forKey: key) } }
        return try await statelessSession(for: caller, server: server, timeout: timeout)
    }

    private func openStatelessSession(for caller: Caller, server: GatewayConfiguration.Server, timeout: Duration) async throws -> StatelessSession {
        let session = try openSession(for: caller, server: server, hasBackChannel: false, registered: false)
        let id: JSONValue = "warden-initialize"
        let initialize: JSONValue = [
            "jsonrpc": "2.0", "id": id, "method": "initialize",
            "params": ["protocolVersion": "2025-11-25", "capabilities": [:], "clientInfo": ["name": "warden", "version": "stateless"]],
        ]
        let answer = await session.exchange([Array(JSONWriter.write(initialize).utf8)], requests: [(RequestKey(id), id)], timeout: timeout)[0]
        guard let result = (try? JSONReader.parse(answer))?["result"] else {
            session.close()
            throw HTTPGateway.UnsupportedConfiguration(description: "the server \(server.name) did not accept initialize")
        }
        session.send([Array(JSONWriter.write(["jsonrpc": "2.0", "method": "notifications/initialized"]).utf8)])
        return StatelessSession(session: session, capabilities: result["capabilities"] ?? [:])
    }

    /// Ends the stateless sessions nobody used for `timeout` (or all, with `nil`).
    func endStatelessSessions(idleFor timeout: Duration?) async {
        let all = statelessSessions.withLock { $0 }
        for (key, task) in all {
            guard let stateless = try? await task.value else { continue }
            if let timeout, !stateless.session.isIdle(for: timeout) { continue }
            statelessSessions.withLock { sessions in if sessions[key] == task { sessions.removeValue(forKey: key) } }
            stateless.session.close()
        }
    }

    static func stateless(_ refusal: StatelessExchange.Refusal, id: JSONValue?) -> Response {
        json(refusal.status, refusal.response(id: id))
    }

    static func json(_ status: HTTPResponse.Status, _ body: [UInt8]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
