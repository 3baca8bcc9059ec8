import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

/// A session of the aggregated endpoint `/mcp`: the tools of every server the caller reaches,
/// each named `<server><separator><tool>`, behind one member session per server.
///
/// Each member is an ordinary session with its own server process and policing gateway, so a
/// call is decided by the server's name and the tool's original name, as policies say. The
/// aggregate answers `initialize`, `ping` and `tools/list` itself (listing every page of every
/// member), routes `tools/call` by prefix, and passes the members' requests and
/// notifications to the client (request ids prefixed with the server's name, so that the
/// client's answers find their way back).
final class AggregateSession: Sendable {
    let id: String
    /// Who opened the session; only they may use it.
    let owner: String
    let separator: String
    /// The members, by server name, in configuration order.
    let members: [(name: String, session: HTTPSession)]
    let stream: ClientStream
    private let ownRequests = Atomic<Int>(0)
    /// The ids of the client's requests in progress: the members track theirs apart, so a
    /// second request with one of these ids (to another server) is refused here.
    private let inProgress = Mutex<Set<RequestKey>>([])
    private let closed = Atomic<Bool>(false)
    let logger: Logger
    /// Who the caller is, for the audit records of calls no member receives.
    let identity: Identity
    let audit: @Sendable (AuditRecord) -> Void
    /// Hides the tools that shadow another server's (AggregateSession+Shadowing.swift).
    let shadowing: AggregateShadowingGuard

    init(
        id: String, owner: String, identity: Identity, separator: String, members: [(name: String, session: HTTPSession)],
        shadowingReportedOnly: Set<String> = [], logger: Logger, audit: @escaping @Sendable (AuditRecord) -> Void
    ) {
        self.id = id
        self.owner = owner
        self.identity = identity
        self.audit = audit
        self.separator = separator
        self.members = members
        self.shadowing = AggregateShadowingGuard(separator: separator, reportOnly: shadowingReportedOnly)
        self.logger = logger
        self.stream = ClientStream(logger: logger)
        for (name, member) in members {
            guard let messages = member.stream.open() else { continue }
            Task { [stream] in
                for await event in messages where !event.message.isEmpty {
                    stream.push(Self.fromMember(event.message, server: name, separator: separator))
                }
            }
        }
    }

    var isClosed: Bool { closed.load(ordering: .relaxed) }

    /// Whether every member is idle and no client holds the stream open.
    func isIdle(for timeout: Duration) -> Bool {
        !stream.isOpen && members.allSatisfy { $0.session.isIdle(for: timeout) }
    }

    /// Ends every member and the stream.
    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        members.forEach { $0.session.close() }
        stream.end()
    }

    // MARK: - Client to servers

    /// Handles one message from the client; returns the answer to a request, `nil` otherwise.
    func handle(_ element: JSONValue, timeout: Duration, httpRequest: String) async -> [UInt8]? {
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(element)
        } catch {
            return JSONRPCError.response(id: error.id, code: JSONRPCError.invalidRequest, message: "Invalid Request: \(error)")
        }
        switch message {
        case .request(let id, let method, let body):
            if let refusal = claim(id) { return refusal }
            defer { release(id) }
            switch method {
            case "initialize": return await initialize(element, id: id, timeout: timeout)
            case "ping": return Self.result(id: id, [:])
            case "tools/list": return await listTools(id: id, timeout: timeout)
            case "tools/call": return await callTool(body, id: id, timeout: timeout, httpRequest: httpRequest)
            default:
                return JSONRPCError.response(
                    id: id, code: JSONRPCError.methodNotFound,
                    message: "Method not found: \(method); the aggregated endpoint serves tools only (use /mcp/<server> for the rest)")
            }
        case .notification:
            let bytes = Array(JSONWriter.write(element).utf8)
            members.forEach { $0.session.send([bytes]) }
            return nil
        case .response(let id, var body):
            // An answer to a member's request: its id says which member, and the original id.
            guard case .string(let prefixed) = id, let (member, rest) = member(named: prefixed),
                let original = try? JSONReader.parse(Array(rest.utf8))
            else {
                logger.warning("dropped an answer to no request of the aggregated session's servers")
                return nil
            }
            body.set("id", to: original)
            member.send([Array(JSONWriter.write(.object(body)).utf8)])
            return nil
        }
    }

    /// Opens every member with the client's `initialize`, and answers as one server with tools.
    private func initialize(_ element: JSONValue, id: JSONValue, timeout: Duration) async -> [UInt8] {
        let bytes = Array(JSONWriter.write(element).utf8)
        var versions: [String] = []
        for (name, member) in members {
            let answer = await member.exchange([bytes], requests: [(RequestKey(id), id)], timeout: timeout)[0]
            guard let result = (try? JSONReader.parse(answer))?["result"] else {
                return JSONRPCError.response(id: id, code: JSONRPCError.internalError, message: "The server \(name) could not be initialized")
            }
            if case .string(let version)? = result["protocolVersion"] { versions.append(version) }
        }
        let requested = element["params"]?["protocolVersion"]?.stringValue
        let version = versions.min() ?? requested ?? ProtocolVersions.sharedSession
        return Self.result(id: id, [
            "protocolVersion": .string(version),
            "capabilities": ["tools": ["listChanged": true]],
            "serverInfo": ["name": "warden", "version": "aggregate"],
        ])
    }

    /// Every tool of every member (each member's pages, filtered by its policy), prefixed,
    /// except the tools that shadow another server's (``AggregateShadowingGuard``).
    private func listTools(id: JSONValue, timeout: Duration) async -> [UInt8] {
        let tools = merged(await listMembers(timeout: timeout))
        return Self.result(id: id, ["tools": .array(tools)])
    }

    /// Each member's tools, every page, as its policy shows them, in configuration order; a
    /// member that does not list them is logged and contributes what it listed before failing.
    func listMembers(timeout: Duration) async -> [(server: String, tools: [JSONObject])] {
        var listing: [(server: String, tools: [JSONObject])] = []
        for (name, member) in members {
            var tools: [JSONObject] = []
            await ToolListPages.forEach { cursor in
                let requestID = JSONValue.string("warden-aggregate-\(ownRequests.add(1, ordering: .relaxed).newValue)")
                let request: JSONValue = ["jsonrpc": "2.0", "id": requestID, "method": "tools/list", "params": ToolListPages.params(cursor: cursor)]
                let answer = await member.exchange(
                    [Array(JSONWriter.write(request).utf8)], requests: [(RequestKey(requestID), requestID)], timeout: timeout)[0]
                guard let result = (try? JSONReader.parse(answer))?["result"], case .array(let page)? = result["tools"] else {
                    logger.warning("a server's tools are left out of the aggregated list: it did not list them", metadata: ["server": "\(name)"])
                    return nil
                }
                for case .object(let tool) in page where tool["name"]?.stringValue != nil {
                    tools.append(tool)
                }
                return result
            }
            listing.append((name, tools))
        }
        return listing
    }

    /// Sends a call to the member its name's prefix names, under the tool's original name.
    private func callTool(_ body: JSONObject, id: JSONValue, timeout: Duration, httpRequest: String) async -> [UInt8] {
        if let refusal = await shadowingRefusal(body, id: id, timeout: timeout, httpRequest: httpRequest) { return refusal }
        switch routed(body, id: id, httpRequest: httpRequest) {
        case .refused(let answer): return answer
        case .member(let member, _, let call, let read):
            return await member.exchange([call], parsed: [read], requests: [(RequestKey(id), id)], timeout: timeout, httpRequest: httpRequest)[0]
        }
    }

    /// A single call whose POST takes an event stream: its answer, or, held for approval, the
    /// stream of messages about it as the client sees them (requests' ids prefixed), ending
    /// with its answer.
    func callToolStreaming(_ body: JSONObject, id: JSONValue, timeout: Duration, httpRequest: String) async -> ResponseSlot.Outcome {
        if let refusal = claim(id) { return .answer(refusal) }
        if let refusal = await shadowingRefusal(body, id: id, timeout: timeout, httpRequest: httpRequest) {
            release(id)
            return .answer(refusal)
        }
        switch routed(body, id: id, httpRequest: httpRequest) {
        case .refused(let answer):
            release(id)
            return .answer(answer)
        case .member(let member, let name, let call, let read):
            let (outcome, _) = await member.exchange(
                call, parsed: read, request: (RequestKey(id), id), whenHeld: .streams, timeout: timeout, httpRequest: httpRequest)
            guard case .held(let events) = outcome else {
                release(id)
                return outcome
            }
            let (renamed, continuation) = AsyncStream<[UInt8]>.makeStream()
            let renaming = Task { [separator] in
                defer { self.release(id) }
                for await message in events {
                    if case .terminated = continuation.yield(Self.fromMember(message, server: name, separator: separator)) { return }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in renaming.cancel() }  // the client left
            return .held(renamed)
        }
    }

    /// Marks the client's request `id` in progress; the answer refusing it if one with that
    /// id already is.
    private func claim(_ id: JSONValue) -> [UInt8]? {
        let key = RequestKey(id)
        let claimed = inProgress.withLock { $0.insert(key).inserted }
        if claimed { return nil }
        return JSONRPCError.requestInProgress(id: id, key: key)
    }

    private func release(_ id: JSONValue) {
        _ = inProgress.withLock { $0.remove(RequestKey(id)) }
    }

    /// Where a call goes: the member (and its server's name) with the call renamed to the
    /// tool's original name, or the answer refusing it (audited as an unknown tool).
    private enum Routing {
        case member(HTTPSession, server: String, call: [UInt8], read: JSONValue)
        case refused([UInt8])
    }

    private func routed(_ body: JSONObject, id: JSONValue, httpRequest: String) -> Routing {
        guard case .object(var params)? = body["params"], case .string(let name)? = params["name"] else {
            return .refused(JSONRPCError.response(id: id, code: JSONRPCError.invalidParams, message: JSONRPCError.Refusal.toolCallWithoutName))
        }
        guard let (server, member, tool) = memberAndServer(named: name) else {
            audit(AuditRecord(
                time: Date(), requestID: RequestKey(id).text, identity: identity.name, grant: identity.grant, method: "tools/call",
                tool: name, decision: "unknown_tool", message: JSONRPCError.Refusal.unknownTool(name) + " (no server of the aggregated session has this prefix)",
                httpRequestID: httpRequest))
            return .refused(JSONRPCError.unknownTool(id: id, name: name))
        }
        params.set("name", to: .string(tool))
        var call = body
        call.set("params", to: .object(params))
        return .member(member, server: server, call: Array(JSONWriter.write(.object(call)).utf8), read: .object(call))
    }

    /// The member a prefixed name starts with, and the rest of the name.
    func member(named prefixed: String) -> (HTTPSession, String)? {
        memberAndServer(named: prefixed).map { ($0.session, $0.rest) }
    }

    /// The one member whose name and separator begin `prefixed`; none when no member's do, or
    /// when more than one's do (a configuration never allows that: such names are refused).
    func memberAndServer(named prefixed: String) -> (server: String, session: HTTPSession, rest: String)? {
        let matching = members.filter { prefixed.utf8.starts(with: ($0.name + separator).utf8) }
        guard matching.count == 1, let (name, member) = matching.first else { return nil }
        return (name, member, String(prefixed.utf8.dropFirst(name.utf8.count + separator.utf8.count))!)
    }

    // MARK: - Servers to client

    /// A member's message for the client: requests get ids prefixed with the server's name.
    static func fromMember(_ message: [UInt8], server: String, separator: String) -> [UInt8] {
        guard case .object(var body)? = try? JSONReader.parse(message), body["method"] != nil, let id = body["id"] else {
            return message
        }
        body.set("id", to: .string(server + separator + JSONWriter.write(id)))
        return Array(JSONWriter.write(.object(body)).utf8)
    }

    private static func result(id: JSONValue, _ result: JSONValue) -> [UInt8] {
        Array(JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": result]).utf8)
    }
}
