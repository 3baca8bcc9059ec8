public import WardenJSON

/// The rules of one tool (`tools.<name>`) or of every tool (`all_tools`).
///
/// An empty entry (`{}`) allows the tool under `default: deny` and adds no other rule.
/// A class, so evaluation reaches a tool's rules without copying them.
public final class ToolRule: Sendable {
    /// What the `action` field says.
    public enum Action: String, Sendable, CaseIterable {
        case allow
        case deny
        case requireApproval = "require_approval"
    }

    /// The tool name (`"*"` for `all_tools`).
    public let name: String
    /// Where this entry is in the policy, e.g. `/tools/transfer`.
    public let pointer: JSONPointer
    /// The `action`, if given.
    public let action: Action?
    /// The `reason` shown to the agent when `action` denies or holds the call.
    public let reason: String?
    /// `require`: conditions that must all hold.
    public let require: [Condition]
    /// `deny_if`: each rule denies when all of its conditions hold.
    public let denyIf: [DenyRule]
    /// `args`: the schema the arguments must satisfy.
    public let arguments: ArgumentSchema?
    /// `validate_input`: also enforce the tool's own `inputSchema`.
    public let validateInput: Bool
    /// `limits` (and the `rate_limit` shorthand, appended last).
    public let limits: [LimitRule]
    /// `approval`: how a held call is approved.
    public let approval: ApprovalRule?
    /// `mode` for this tool only, overriding the policy's.
    public let mode: EnforcementMode?

    public init(
        name: String,
        pointer: JSONPointer,
        action: Action? = nil,
        reason: String? = nil,
        require: [Condition] = [],
        denyIf: [DenyRule] = [],
        arguments: ArgumentSchema? = nil,
        validateInput: Bool = false,
        limits: [LimitRule] = [],
        approval: ApprovalRule? = nil,
        mode: EnforcementMode? = nil
    ) {
        self.name = name
        self.pointer = pointer
        self.action = action
        self.reason = reason
        self.require = require
        self.denyIf = denyIf
        self.arguments = arguments
        self.validateInput = validateInput
        self.limits = limits
        self.approval = approval
        self.mode = mode
    }
}

/// One `deny_if` entry: the call is denied when every condition holds.
public final class DenyRule: Sendable {
    /// Where this entry is, e.g. `/tools/transfer/deny_if/0`.
    public let pointer: JSONPointer
    /// The conditions, all of which must hold for the denial.
    public let conditions: [Condition]
    /// The reason shown to the agent (`on_deny`).
    public let reason: String?

    public init(pointer: JSONPointer, conditions: [Condition], reason: String?) {
        self.pointer = pointer
        self.conditions = conditions
        self.reason = reason
    }
}

/// The `approval` block: a call is held until a person approves it.
public struct ApprovalRule: Sendable {
    /// Where this block is (or the `action` that asked for approval).
    public var pointer: JSONPointer
    /// How long a call waits for a decision. The default is 10 minutes.
    public var timeoutSeconds: Int
    /// Who may approve (approver names; `user` asks the caller by elicitation); empty means any approver.
    public var approvers: [String]
    /// The argument values approvers do not see.
    public var redact: ArgumentRedaction

    /// The default wait for an approval: 10 minutes.
    public static let defaultTimeoutSeconds = 600

    public init(
        pointer: JSONPointer, timeoutSeconds: Int = ApprovalRule.defaultTimeoutSeconds, approvers: [String] = [],
        redact: ArgumentRedaction = ArgumentRedaction()
    ) {
        self.pointer = pointer
        self.timeoutSeconds = timeoutSeconds
        self.approvers = approvers
        self.redact = redact
    }
}
