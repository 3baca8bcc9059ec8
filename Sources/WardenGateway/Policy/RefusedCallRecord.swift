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
        guard envelope.method == "tools/call" else { return nil }
        var record = AuditRecord(
            time: Date(), requestID: envelope.id.map { RequestKey($0).text }, identity: identity.name, grant: identity.grant,
            session: session, server: server, method: "tools/call", decision: "invalid", policyHash: policyHash,
            httpRequestID: httpRequest)
        record.tool = envelope.toolName
        record.message = "refused before policing: \(reason)"
        return record
    }
}
