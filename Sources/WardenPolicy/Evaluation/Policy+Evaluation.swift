public import Foundation
import WardenJSON

extension Policy {
    /// Decides one call. A pure function of its inputs: the same policy, call, counts and
    /// instant always give the same decision.
    ///
    /// The order is fixed and the first denial wins: hidden → `action: deny` → `default` →
    /// `require` → `deny_if` → `args` / `validate_input` → `limits` → approval → allow.
    /// `all_tools` rules are checked before the tool's own at each step.
    ///
    /// - Parameters:
    ///   - call: The call.
    ///   - counters: The current counts of the call's counters (see ``counterKeys(for:now:)``).
    ///   - now: The instant of the call; it picks the limit windows.
    /// - Returns: The decision, with the counter reservations to make if the call goes on.
    public func evaluate(_ call: ToolCall, counters: some CounterSnapshot, now: Date) -> Decision {
        let entry = rule(forTool: call.tool)
        var decision = decide(call, entry: entry, counters: counters, now: now)
        if decision.outcome != .allow, (entry?.mode ?? allTools?.mode ?? mode) == .shadow {
            decision.enforced = false
        }
        return decision
    }

    /// The counters a call of this tool would count, for fetching a snapshot before ``evaluate(_:counters:now:)``.
    public func counterKeys(for call: ToolCall, now: Date) -> [CounterKey] {
        var keys: [CounterKey] = []
        forEachRule(rule(forTool: call.tool)) { rule in
            keys += rule.limits.map { $0.key(for: call, now: now) }
            return nil
        }
        return keys
    }

    /// Whether `tools/list` shows the tool `name` (it is hidden unless shadow mode applies to it).
    public func isVisible(tool name: String) -> Bool {
        let entry = rule(forTool: name)
        return !isHidden(name, entry: entry) || (entry?.mode ?? allTools?.mode ?? mode) == .shadow
    }

    private func isHidden(_ name: String, entry: ToolRule?) -> Bool {
        hide.names.contains(ExactName(name)) || (hide.hidesUnlisted && entry == nil)
    }

    /// Calls `body` with `all_tools`' rules, then with the tool's own, until it returns a decision.
    @discardableResult
    private func forEachRule(_ entry: ToolRule?, _ body: (ToolRule) -> Decision?) -> Decision? {
        if let allTools, let decision = body(allTools) { return decision }
        if let entry, let decision = body(entry) { return decision }
        return nil
    }

    private func decide(_ call: ToolCall, entry: ToolRule?, counters: some CounterSnapshot, now: Date) -> Decision {
        if isHidden(call.tool, entry: entry) {
            return Decision(outcome: .hidden, rule: .hidden, message: "Unknown tool: \(call.tool)")
        }
        // The tool's own action wins over the one in all_tools.
        let actionRule = entry?.action != nil ? entry : (allTools?.action != nil ? allTools : nil)
        if let actionRule, actionRule.action == .deny {
            return Decision(
                outcome: .deny,
                rule: .pointer(actionRule.pointer.appending("action")),
                message: actionRule.reason ?? "tool \"\(call.tool)\" is denied by policy"
            )
        }
        // An `all_tools` action never lets a tool without an entry past `default: deny`.
        if entry == nil, defaultAction == .deny {
            return Decision(outcome: .deny, rule: .defaultDeny, message: "tool \"\(call.tool)\" is not allowed by policy")
        }
        if let denial = forEachRule(entry, { $0.requirementDenial(for: call) }) { return denial }
        if let denial = forEachRule(entry, { $0.denyIfDenial(for: call) }) { return denial }
        if let denial = forEachRule(entry, { $0.argumentDenial(for: call) }) { return denial }
        var reservations: [CounterReservation] = []
        let limitDenial = forEachRule(entry) { rule in
            for limit in rule.limits {
                switch limit.reservation(for: call, now: now, counters: counters, pending: reservations) {
                case .success(let reservation): reservations.append(reservation)
                case .failure(let denial): return denial.decision
                }
            }
            return nil
        }
        if let limitDenial { return limitDenial }
        let approvalRule = entry?.approval ?? allTools?.approval
        if actionRule?.action == .requireApproval || approvalRule != nil {
            let pointer = approvalRule?.pointer ?? actionRule?.pointer.appending("action") ?? JSONPointer.root
            return Decision(
                outcome: .approvalRequired,
                rule: .pointer(pointer),
                message: actionRule?.reason ?? "tool \"\(call.tool)\" requires approval",
                reservations: reservations,
                approval: approvalRule ?? ApprovalRule(pointer: pointer)
            )
        }
        let allowingRule: RuleReference =
            if let entry { .pointer(entry.pointer) } else if let actionRule { .pointer(actionRule.pointer.appending("action")) } else {
                .defaultAllow
            }
        return Decision(outcome: .allow, rule: allowingRule, message: "allowed", reservations: reservations)
    }
}

extension ToolRule {
    /// The denial of the first `require` condition that does not hold.
    fileprivate func requirementDenial(for call: ToolCall) -> Decision? {
        for condition in require {
            switch condition.holds(for: call) {
            case true: continue
            case false:
                return Decision(
                    outcome: .deny,
                    rule: .pointer(condition.pointer),
                    message: condition.reason ?? "requirement not met: \(condition.summary)"
                )
            case nil: return condition.undecidedDenial()
            }
        }
        return nil
    }

    /// The denial of the first `deny_if` entry whose conditions all hold. An entry none of
    /// whose conditions is false, but one of which could not be decided, denies too (fail
    /// closed), naming that condition.
    fileprivate func denyIfDenial(for call: ToolCall) -> Decision? {
        entries: for denial in denyIf {
            var undecided: Condition?
            for condition in denial.conditions {
                switch condition.holds(for: call) {
                case true: continue
                case false: continue entries
                case nil: undecided = undecided ?? condition
                }
            }
            if let undecided { return undecided.undecidedDenial() }
            return Decision(
                outcome: .deny,
                rule: .pointer(denial.pointer),
                message: denial.reason ?? "denied by rule: \(denial.conditions.map(\.summary).joined(separator: " and "))"
            )
        }
        return nil
    }

    /// The denial for arguments that break `args`, or the tool's own schema under `validate_input`.
    fileprivate func argumentDenial(for call: ToolCall) -> Decision? {
        if let violation = arguments?.violation(by: .object(call.arguments)) {
            return Decision(outcome: .deny, rule: .pointer(violation.rule), message: "invalid arguments: \(violation.description)")
        }
        guard validateInput else { return nil }
        let pointer = pointer.appending("validate_input")
        guard let schema = call.inputSchema else {
            return Decision(
                outcome: .deny,
                rule: .pointer(pointer),
                message: "the input schema of tool \"\(call.tool)\" is unknown, so its arguments cannot be validated"
            )
        }
        if let violation = schema.violation(by: .object(call.arguments)) {
            return Decision(outcome: .deny, rule: .pointer(pointer), message: "invalid arguments: \(violation.description)")
        }
        return nil
    }
}
