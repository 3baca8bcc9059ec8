import Foundation
import Logging
import Synchronization
import WardenCatalogue
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

extension SessionPipeline {
    /// The tools a `tools/list` result lists, screened by the server's ``ToolDefinitionGuard``:
    /// their definitions are remembered for the session's calls, what was not audited before
    /// is, and the names of blocked tools are returned, to be hidden. `complete` when the
    /// result (or `definitions`) holds every page, so that removed tools can be told.
    func screenToolList(_ definitions: [ToolDefinition], complete: Bool, method: String = "tools/list") -> Set<ExactName> {
        guard let toolGuard = configuration.definitionGuard else { return [] }
        let listed = definitions.map { ToolDefinitionGuard.Listed(definition: $0, fingerprint: $0.fingerprint) }
        state.withLock { state in
            for tool in listed { state.listedDefinitions[ExactName(tool.definition.name)] = tool }
        }
        let (verdicts, events) = toolGuard.screen(listed, complete: complete)
        for event in events {
            log(AuditRecord(
                time: Date(), identity: configuration.identity.name, grant: configuration.identity.grant, session: configuration.session,
                server: configuration.serverName, method: method, tool: event.tool, decision: event.decision, rule: event.rule,
                message: event.message, policyHash: policy.current.hash))
            logger.warning("tool definition guard", metadata: ["server": "\(configuration.serverName)", "tool": "\(event.tool)", "decision": "\(event.decision)"])
        }
        return Set(verdicts.filter { $0.value.action == .block }.keys)
    }

    /// The tool definitions in a `tools/list` result.
    static func toolDefinitions(in result: JSONValue) -> [ToolDefinition] {
        result["tools"]?.arrayValue?.compactMap(ToolDefinition.init(listEntry:)) ?? []
    }

    /// The guard's verdict on a call to `tool`, as this session saw it listed; `nil` when the
    /// guard has nothing against it.
    func guardVerdict(forCall tool: String) -> ToolDefinitionGuard.Verdict? {
        guard let toolGuard = configuration.definitionGuard,
            let listed = state.withLock({ $0.listedDefinitions[ExactName(tool)] })
        else { return nil }
        return toolGuard.verdict(for: listed)
    }

    /// A policy decision made stricter by the guard's `require_approval`: an allowed call (or
    /// one the policy only reports, in shadow mode) is held; one the policy holds already is
    /// held once, with both reasons; a denial stays a denial.
    static func holding(_ decision: Decision, for verdict: ToolDefinitionGuard.Verdict) -> Decision {
        let text = "\(verdict.reason)\n\(verdict.detail)"
        if decision.outcome == .approvalRequired && decision.enforced {
            var held = decision
            held.message = "\(decision.message); also \(text)"
            return held
        }
        guard decision.isForwarded else { return decision }
        let pointer = JSONPointer.root.appending(String(verdict.rule.dropFirst()))
        return Decision(
            outcome: .approvalRequired, rule: .pointer(pointer), message: text, reservations: decision.reservations,
            approval: ApprovalRule(pointer: pointer))
    }
}

extension SessionPipeline {
    /// After `notifications/tools/list_changed`, Warden lists the server's tools itself (in a
    /// task: the answers come through the relay that is calling), so that a drift is found and
    /// audited even if the client never lists again.
    func relistForGuard(server: any Upstream) {
        guard configuration.definitionGuard?.configuration.isActive == true else { return }
        Task {
            do {
                try await listAllTools(server: server)
            } catch {
                logger.warning("could not list the server's tools after it said they changed", metadata: ["error": "\(error)"])
            }
        }
    }
}
