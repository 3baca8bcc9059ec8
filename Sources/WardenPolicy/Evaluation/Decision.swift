public import WardenJSON

/// The outcome of evaluating one call against a policy.
public struct Decision: Sendable {
    /// What the policy says about the call.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Forward the call.
        case allow
        /// Refuse it with a policy-denied result the agent can read.
        case deny
        /// Refuse it as an unknown tool; it is not in `tools/list` either.
        case hidden
        /// Hold it until a person approves it.
        case approvalRequired = "approval_required"
    }

    /// What the policy says.
    public var outcome: Outcome
    /// The rule that decided.
    public var rule: RuleReference
    /// A message for the agent and the audit log. It never contains argument values.
    public var message: String
    /// `false` when the outcome is a would-be denial (or hold) under `mode: shadow`:
    /// the call is forwarded anyway and the decision is only reported.
    public var enforced: Bool
    /// Counter increments to reserve before forwarding (rolled back if the call fails).
    public var reservations: [CounterReservation]
    /// For a rate-limit denial: seconds until the window resets.
    public var retryAfterSeconds: Int?
    /// For ``Outcome/approvalRequired``: how the approval works.
    public var approval: ApprovalRule?

    public init(
        outcome: Outcome,
        rule: RuleReference,
        message: String,
        enforced: Bool = true,
        reservations: [CounterReservation] = [],
        retryAfterSeconds: Int? = nil,
        approval: ApprovalRule? = nil
    ) {
        self.outcome = outcome
        self.rule = rule
        self.message = message
        self.enforced = enforced
        self.reservations = reservations
        self.retryAfterSeconds = retryAfterSeconds
        self.approval = approval
    }

    /// Whether the call goes on to the server now: allowed, or refused only in shadow mode.
    public var isForwarded: Bool {
        outcome == .allow || !enforced
    }
}

/// The rule a decision names: a JSON Pointer into the policy, or one of the implicit rules.
public enum RuleReference: Sendable, Hashable, CustomStringConvertible {
    /// A rule written in the policy, e.g. `/tools/x/deny_if/0`.
    case pointer(JSONPointer)
    /// The tool has no entry and `default` is deny.
    case defaultDeny
    /// The tool has no entry and `default` is allow.
    case defaultAllow
    /// The tool is hidden.
    case hidden

    public var description: String {
        switch self {
        case .pointer(let pointer): pointer.description
        case .defaultDeny: "(default deny)"
        case .defaultAllow: "(default allow)"
        case .hidden: "(hidden)"
        }
    }
}
