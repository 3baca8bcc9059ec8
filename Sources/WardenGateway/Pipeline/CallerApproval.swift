import WardenJSON
import WardenStore

/// Asking the caller to approve their own held call (`approvers: [user]`): the form they are
/// shown, and what their answer decides. The question goes as an `elicitation/create`
/// request, or (stateless revision) inside an `input_required` result.
enum CallerApproval {
    /// The `elicitation/create` params (form mode) asking about `approval`.
    static func question(for approval: Approval) -> JSONValue {
        [
            "mode": "form",
            "message": .string(
                "Warden holds a call to \(approval.tool) on \(approval.server) for approval (\(approval.message)). "
                    + "Arguments: \(approval.arguments). Approve it?"),
            "requestedSchema": [
                "type": "object",
                "properties": [
                    "approve": ["type": "boolean", "title": "Approve this call", "default": false],
                    "reason": ["type": "string", "title": "Reason (optional)"],
                ],
                "required": ["approve"],
            ],
        ]
    }

    /// What an elicitation result decides: approve or deny, with the user's reason; `nil` for
    /// a dismissed form (`cancel`) or anything else, which decides nothing.
    static func decision(in result: JSONValue?) -> (approve: Bool, reason: String?)? {
        let approved = result?["action"] == "accept" && result?["content"]?["approve"] == true
        let refused = result?["action"] == "decline" || (result?["action"] == "accept" && !approved)
        guard approved || refused else { return nil }
        let reason = result?["content"]?["reason"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return (approved, reason ?? (approved ? nil : "the user did not approve"))
    }
}
