import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore
import WardenCatalogue

extension SessionPipeline {
    /// Decides a `tools/call`: forward it, hold it for approval, or answer it with a denial.
    /// Where the server's tools are not known yet, they are listed first.
    func policeToolCall(
        id: JSONValue, key: RequestKey, body: JSONObject, bytes: [UInt8]?, server: any Upstream, httpRequest: String? = nil
    ) async -> Route {
        let started = ContinuousClock.now
        defer { metrics?.decided(after: .now - started) }
        let now = Date()
        let version = policy.current
        var record = AuditRecord(
            time: now,
            requestID: key.text,
            identity: configuration.identity.name,
            grant: configuration.identity.grant,
            session: configuration.session,
            server: configuration.serverName,
            method: "tools/call",
            decision: "invalid",
            policyHash: version.hash,
            httpRequestID: httpRequest
        )
        func refuse(_ code: Int, _ message: String) -> Route {
            record.message = message
            log(record)
            return .respond(JSONRPCError.response(id: id, code: code, message: message))
        }
        guard case .object(let params)? = body["params"], case .string(let tool)? = params["name"] else {
            return refuse(JSONRPCError.invalidParams, JSONRPCError.Refusal.toolCallWithoutName)
        }
        record.tool = tool
        let arguments: JSONObject
        switch params["arguments"] {
        case nil, .null?: arguments = JSONObject()
        case .object(let object)?: arguments = object
        default: return refuse(JSONRPCError.invalidParams, "Invalid params: params.arguments must be an object")
        }
        record.argumentKeys = arguments.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        record.argumentsHash = Digest.canonical(.object(arguments))
        if let redaction = configuration.auditedArguments { record.arguments = .object(redaction.applied(to: arguments)) }

        let known: SessionState.KnownTool?
        do {
            known = try await knownTool(named: tool, server: server)
        } catch {
            logger.error("cannot list the server's tools; call refused", metadata: ["error": "\(error)"])
            record.decision = "deny"
            return refuse(JSONRPCError.internalError, "Warden could not list the server's tools, so the call was not forwarded: \(error)")
        }
        guard let known else {
            record.decision = "unknown_tool"
            return refuse(JSONRPCError.invalidParams, JSONRPCError.Refusal.unknownTool(tool))
        }
        let verdict = guardVerdict(forCall: tool)
        if let verdict, verdict.action == .block {
            // Refused exactly as a tool the policy hides, so the agent learns nothing more.
            record.decision = "hidden"
            record.rule = verdict.rule
            record.message = verdict.reason
            log(record)
            return .respond(JSONRPCError.unknownTool(id: id, name: tool))
        }

        let call = ToolCall(
            tool: tool,
            arguments: arguments,
            identity: configuration.identity,
            server: configuration.serverName,
            session: configuration.session,
            inputSchema: known.inputSchema
        )
        let enforcer = PolicyEnforcer(policy: version.policy, ledger: ledger)
        let intent = draftIntent(record)
        var decision: Decision
        do {
            decision = try await decide(call, with: enforcer, now: now, intent: intent)
        } catch {
            logger.error("the state store failed; call refused (fail closed)", metadata: ["error": "\(error)"])
            metrics?.storeFailed()
            record.decision = "deny"
            record.intent = intent?.intent.id  // a reservation that failed late may have written it
            return refuse(JSONRPCError.internalError, "[POLICY DENIED] " + StoreUnavailable.reason(couldNot: "reach its state store"))
        }
        record.decision = decision.enforced ? decision.outcome.rawValue : "shadow_" + decision.outcome.rawValue
        if let verdict, verdict.action == .requireApproval {
            decision = Self.holding(decision, for: verdict)
            record.decision = decision.enforced ? decision.outcome.rawValue : "shadow_" + decision.outcome.rawValue
        }
        record.rule = decision.rule.description
        record.message = decision.message
        record.intent = intent?.writtenID
        if decision.outcome == .approvalRequired && decision.enforced {
            guard configuration.approvals != nil else {
                await rollBack(decision.reservations)
                decision = Decision(
                    outcome: .deny,
                    rule: decision.rule,
                    message: "\(decision.message); no approver is available to this gateway, so the call was refused"
                )
                record.decision = "deny"
                record.message = decision.message
                log(record)
                return .respond(PolicyDenialResult.response(id: id, decision: decision))
            }
            return .hold(HeldCall(id: id, call: call, decision: decision, record: record, progressToken: params["_meta"]?["progressToken"]))
        }
        if decision.isForwarded {
            guard await writeIntent(intent, for: &record) else {
                await rollBack(decision.reservations)
                record.decision = "deny"
                return refuse(JSONRPCError.internalError, Self.intentStoreUnavailable)
            }
            // The record moves into the pending call; a call that cannot be forwarded takes it back.
            let pending = SessionState.PendingCall(reservations: decision.reservations, started: .now, record: record)
            let route = forward(id: id, key: key, body: body, bytes: bytes, purpose: .call(pending))
            if case .respond = route {
                await rollBack(decision.reservations)
                var unanswered = pending.record
                unanswered.upstreamStatus = "no response"
                log(unanswered)
            }
            return route
        }
        log(record)
        if decision.outcome == .hidden {
            return .respond(JSONRPCError.unknownTool(id: id, name: tool))
        }
        return .respond(PolicyDenialResult.response(id: id, decision: decision))
    }

    /// The `Mcp-Param-*` headers calls to tool `name` must carry; `nil` if the server has no
    /// such tool. Lists the server's tools first if they are not known yet.
    func headerParameters(ofTool name: String, server: any Upstream) async -> [MCPParamHeaders.Declaration]? {
        let complete = state.withLock { $0.toolsComplete || $0.tools[ExactName(name)] != nil }
        if !complete { try? await listAllTools(server: server) }
        return state.withLock { $0.tools[ExactName(name)]?.headerParameters }
    }

    /// The names of the tools the server advertised so far.
    var knownToolNames: [String] {
        state.withLock { $0.tools.keys.map(\.value) }
    }

    /// The tool called `name` as the server advertised it, or `nil` if it did not. When the
    /// tool is not among those seen so far, Warden lists every page of tools itself, once.
    func knownTool(named name: String, server: any Upstream) async throws -> SessionState.KnownTool? {
        let (tool, complete) = state.withLock { ($0.tools[ExactName(name)], $0.toolsComplete) }
        if let tool { return tool }
        if complete { return nil }
        try await listAllTools(server: server)
        return state.withLock { $0.tools[ExactName(name)] }
    }

    /// Lists every page of the server's tools with Warden's own requests.
    func listAllTools(server: any Upstream) async throws {
        var listed: [ToolDefinition] = []
        try await ToolListPages.forEach { cursor in
            let response = try await request("tools/list", params: ToolListPages.params(cursor: cursor), server: server)
            guard let result = response["result"] else {
                throw OwnRequestError(description: "the server answered tools/list with an error")
            }
            let page = ToolListFilter(result: result) { _ in true }
            state.withLock { $0.remember(page.tools) }
            listed += Self.toolDefinitions(in: result)
            return result
        }
        state.withLock { $0.toolsComplete = true }
        _ = screenToolList(listed, complete: true)
    }

    /// Sends Warden's own request to the server and waits for its response.
    func request(_ method: String, params: JSONValue, server: any Upstream) async throws -> JSONObject {
        let id = state.withLock { state -> JSONValue in
            state.ownRequestCount += 1
            return .string("warden-\(state.ownRequestCount)")
        }
        let message: JSONValue = ["jsonrpc": "2.0", "id": id, "method": .string(method), "params": params]
        return try await withCheckedThrowingContinuation { continuation in
            let registered = state.withLock { state -> Bool in
                guard !state.serverGone else { return false }
                state.ownRequests[RequestKey(id)] = continuation
                return true
            }
            guard registered else {
                continuation.resume(throwing: OwnRequestError(description: "the server has exited"))
                return
            }
            Task { await server.send(Array(JSONWriter.write(message).utf8)) }
        }
    }
}
