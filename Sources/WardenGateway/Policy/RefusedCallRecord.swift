import Foundation
import WardenMCP
import WardenPolicy
import WardenStore

extension AuditRecord {
    /// The audit entry of a `tools/call` refused before it could be read whole (duplicate keys,
    /// invalid UTF-8, nesting too deep, over the size limit): what its envelope shows (its id,
    /// and the tool it names or seems to name), the reason, and who sent it; never its
    /// arguments. `nil` when the message does not look like a `tools/call`.
    static func refusedCall(
        _ envelope: MessageEnvelope, because reason: String, identity: Identity, session: String?, server: String?,
        policyHash: String?, httpRequest: String?
    ) -> AuditRecord? {
        // Any `method` naming tools/call counts (a message with two is ambiguous, so refused).
        guard envelope.methods.contains("tools/call") else { return nil }
        var record = AuditRecord(
            time: Date(), requestID: envelope.id.map { RequestKey($0).text }, identity: identity.name, grant: identity.grant,
            session: session, server: server, method: "tools/call", decision: "invalid", policyHash: policyHash,
            httpRequestID: httpRequest)
        // Several names (duplicate keys): servers differ on which one counts, so all are kept.
        record.tool = envelope.toolNames.isEmpty ? nil : envelope.toolNames.joined(separator: " | ")
        record.message = "refused before policing: \(reason)"
        if envelope.toolNames.count > 1 { record.message! += "; it names several tools" }
        return record
    }
}
