public import WardenJSON

extension DocumentDecoder {
    static let policyKeys = ["version", "description", "default", "mode", "hide", "all_tools", "tools", "tests"]
    static let toolKeys = [
        "action", "reason", "require", "deny_if", "args", "validate_input", "limits", "rate_limit", "approval", "mode",
    ]

    /// Decodes a whole policy document.
    mutating func decodePolicy(_ value: JSONValue) -> Policy? {
        let root = JSONPointer.root
        guard let object = object(value, at: root, keys: Self.policyKeys) else { return nil }
        if let version = object["version"], version != "1", version != .number(JSONNumber(1)) {
            let pointer = root.appending("version")
            report("unsupported version at \(pointer); this Warden reads version \"1\"", at: pointer)
        }
        if let description = object["description"] {
            _ = string(description, at: root.appending("description"))
        }
        var defaultAction = Policy.DefaultAction.deny
        if let value = object["default"] {
            defaultAction = choice(value, at: root.appending("default"), as: Policy.DefaultAction.self) ?? defaultAction
        }
        var mode = EnforcementMode.enforce
        if let value = object["mode"] {
            mode = choice(value, at: root.appending("mode"), as: EnforcementMode.self) ?? mode
        }
        var hide = HideList()
        if let value = object["hide"], let names = strings(value, at: root.appending("hide")) {
            hide = HideList(names: names.filter { $0 != "*" }, hidesUnlisted: names.contains("*"))
        }
        let allTools = object["all_tools"].flatMap { decodeToolRule($0, name: "*", at: root.appending("all_tools")) }
        var tools: [ToolRule] = []
        if let value = object["tools"], let entries = namedEntries(value, at: root.appending("tools")) {
            for member in entries.members {
                let pointer = root.appending("tools").appending(member.key)
                if let rule = decodeToolRule(member.value, name: member.key, at: pointer) {
                    tools.append(rule)
                }
            }
        }
        let tests = object["tests"].map { decodeTestCases($0, at: root.appending("tests")) } ?? []
        warnAboutShadowMode(policyMode: mode, allTools: allTools, tools: tools)
        guard problems.isEmpty else { return nil }
        return Policy(defaultAction: defaultAction, hide: hide, allTools: allTools, tools: tools, mode: mode, tests: tests)
    }

    /// Shadow mode is decided per call, for the whole decision: a call of a tool in shadow
    /// mode is forwarded whatever denied it, `all_tools`' rules included. So a tool (or the
    /// whole policy) in shadow mode does not enforce the `all_tools` rules either; say so where
    /// the mode is set, when `all_tools` has a rule that can deny or hold a call.
    mutating func warnAboutShadowMode(policyMode: EnforcementMode, allTools: ToolRule?, tools: [ToolRule]) {
        guard let allTools else { return }
        let rules = allTools.enforcingKeys
        guard !rules.isEmpty else { return }
        let list = "the all_tools rules (\(rules.joined(separator: ", ")))"
        if allTools.mode == .shadow {
            warn(
                "all_tools is in shadow mode, which is the mode of every tool without a mode of its own: for those tools "
                    + "nothing is enforced, \(list) included; calls they would deny are forwarded and only reported",
                at: allTools.pointer.appending("mode"))
        } else if allTools.mode == nil, policyMode == .shadow {
            warn(
                "the whole policy is in shadow mode: for every tool without \"mode: enforce\" nothing is enforced, "
                    + "\(list) included; calls they would deny are forwarded and only reported",
                at: JSONPointer.root.appending("mode"))
        }
        for tool in tools where tool.mode == .shadow && (allTools.mode ?? policyMode) == .enforce {
            warn(
                "tool \"\(tool.name)\" is in shadow mode, which covers \(list) too: a call of it that all_tools "
                    + "would deny is forwarded and only reported, like one its own rules would deny",
                at: tool.pointer.appending("mode"))
        }
    }

    /// Decodes `tools.<name>` or `all_tools`.
    mutating func decodeToolRule(_ value: JSONValue, name: String, at pointer: JSONPointer) -> ToolRule? {
        guard let object = object(value, at: pointer, keys: Self.toolKeys) else { return nil }
        func field<T>(_ key: String, _ decode: (inout DocumentDecoder, JSONValue, JSONPointer) -> T?) -> T? {
            object[key].flatMap { decode(&self, $0, pointer.appending(key)) }
        }
        var limits = field("limits") { decoder, value, at in
            decoder.array(value, at: at).map { entries in
                entries.enumerated().compactMap { decoder.decodeLimit($1, at: at.appending($0)) }
            }
        } ?? []
        if let shorthand = field("rate_limit", { $0.decodeRateLimit($1, at: $2) }) {
            limits.append(shorthand)
        }
        return ToolRule(
            name: name,
            pointer: pointer,
            action: field("action") { $0.choice($1, at: $2, as: ToolRule.Action.self) },
            reason: field("reason") { $0.string($1, at: $2) },
            require: field("require") { $0.decodeConditions($1, at: $2) } ?? [],
            denyIf: field("deny_if") { decoder, value, at in
                decoder.array(value, at: at).map { entries in
                    entries.enumerated().compactMap { decoder.decodeDenyRule($1, at: at.appending($0)) }
                }
            } ?? [],
            arguments: field("args") { $0.compileSchema($1, at: $2) },
            validateInput: field("validate_input") { $0.bool($1, at: $2) } ?? false,
            limits: limits,
            approval: field("approval") { $0.decodeApproval($1, at: $2) },
            mode: field("mode") { $0.choice($1, at: $2, as: EnforcementMode.self) }
        )
    }

    mutating func decodeConditions(_ value: JSONValue, at pointer: JSONPointer) -> [Condition] {
        guard let entries = array(value, at: pointer) else { return [] }
        return entries.enumerated().compactMap { decodeCondition($1, at: pointer.appending($0)) }
    }

    mutating func decodeCondition(_ value: JSONValue, at pointer: JSONPointer) -> Condition? {
        guard let object = object(value, at: pointer, keys: ["path", "op", "value", "reason"], required: ["path", "op"]),
            let pathValue = object["path"], let opValue = object["op"],
            let pathText = string(pathValue, at: pointer.appending("path")),
            let op = choice(opValue, at: pointer.appending("op"), as: Condition.Operator.self)
        else { return nil }
        guard let path = ValuePath(pathText) else {
            report(
                "unknown path \"\(pathText)\" at \(pointer.appending("path")); paths are args.<name>..., "
                    + "identity.labels.<key>, or one of \(ValuePath.fixedPaths.joined(separator: ", "))",
                at: pointer.appending("path"),
                suggestion: Suggestion.closest(to: pathText, among: ValuePath.fixedPaths)
            )
            return nil
        }
        let valuePointer = pointer.appending("value")
        var reason: String?
        if let value = object["reason"] { reason = string(value, at: pointer.appending("reason")) }
        guard let value = object["value"] else {
            if op == .exists { return Condition(pointer: pointer, path: path, op: op, value: true, reason: reason) }
            report("missing required key \"value\" at \(pointer)", at: pointer)
            return nil
        }
        var pattern: Pattern?
        switch op {
        case .lt, .lte, .gt, .gte:
            switch value {
            case .number, .string:
                break
            default:
                report("\"\(op.rawValue)\" compares numbers or strings; found \(value.typeName) at \(valuePointer)", at: valuePointer)
                return nil
            }
        case .in, .notIn:
            guard array(value, at: valuePointer) != nil else { return nil }
        case .exists:
            guard bool(value, at: valuePointer) != nil else { return nil }
        case .regex:
            guard let compiled = self.pattern(value, at: valuePointer) else { return nil }
            pattern = compiled
        case .eq, .neq, .contains:
            break
        }
        return Condition(pointer: pointer, path: path, op: op, value: value, pattern: pattern, reason: reason)
    }

    mutating func decodeDenyRule(_ value: JSONValue, at pointer: JSONPointer) -> DenyRule? {
        guard let object = object(value, at: pointer, keys: ["conditions", "on_deny"], required: ["conditions"]),
            let conditionsValue = object["conditions"]
        else { return nil }
        let conditions = decodeConditions(conditionsValue, at: pointer.appending("conditions"))
        if conditions.isEmpty, case .array(let entries) = conditionsValue, entries.isEmpty {
            report("\"conditions\" needs at least one condition at \(pointer)", at: pointer.appending("conditions"))
        }
        var reason: String?
        if let onDeny = object["on_deny"] {
            let onDenyPointer = pointer.appending("on_deny")
            if case .object = onDeny {
                if let details = self.object(onDeny, at: onDenyPointer, keys: ["reason"], required: ["reason"]),
                    let value = details["reason"]
                {
                    reason = string(value, at: onDenyPointer.appending("reason"))
                }
            } else {
                reason = string(onDeny, at: onDenyPointer)
            }
        }
        return DenyRule(pointer: pointer, conditions: conditions, reason: reason)
    }

    mutating func decodeLimit(_ value: JSONValue, at pointer: JSONPointer) -> LimitRule? {
        guard let object = object(
                value, at: pointer, keys: ["counter", "window", "max", "scope", "increment_from"], required: ["window", "max"]),
            let windowValue = object["window"], let maxValue = object["max"]
        else { return nil }
        let window = decodeWindow(windowValue, at: pointer.appending("window"))
        let max = positiveAmount(maxValue, at: pointer.appending("max"))
        var counter = pointer.description
        if let value = object["counter"], let name = string(value, at: pointer.appending("counter")) {
            if name.isEmpty { report("\"counter\" must not be empty at \(pointer)", at: pointer.appending("counter")) }
            counter = name
        }
        var scope = LimitScope.grant
        if let value = object["scope"] {
            scope = choice(value, at: pointer.appending("scope"), as: LimitScope.self) ?? scope
        }
        var incrementFrom: ValuePath?
        if let value = object["increment_from"], let text = string(value, at: pointer.appending("increment_from")) {
            incrementFrom = ValuePath(text)
            if incrementFrom == nil {
                report("unknown path \"\(text)\" at \(pointer.appending("increment_from")); use args.<name>", at: pointer.appending("increment_from"))
            }
        }
        guard let window, let max else { return nil }
        return LimitRule(pointer: pointer, counter: counter, window: window, max: max, scope: scope, incrementFrom: incrementFrom)
    }

    /// `rate_limit: {max, window}`: one call limit in the session scope.
    mutating func decodeRateLimit(_ value: JSONValue, at pointer: JSONPointer) -> LimitRule? {
        guard let object = object(value, at: pointer, keys: ["max", "window"], required: ["max", "window"]),
            let maxValue = object["max"], let windowValue = object["window"]
        else { return nil }
        let max = positiveAmount(maxValue, at: pointer.appending("max"))
        guard let window = decodeWindow(windowValue, at: pointer.appending("window")), let max else { return nil }
        return LimitRule(pointer: pointer, counter: pointer.description, window: window, max: max, scope: .session)
    }

    mutating func decodeWindow(_ value: JSONValue, at pointer: JSONPointer) -> LimitWindow? {
        if case .number = value {
            return integer(value, at: pointer, in: 1...Int(Int32.max)).map(LimitWindow.seconds)
        }
        let names: [String: LimitWindow] = ["second": .second, "minute": .minute, "hour": .hour, "day": .day]
        guard let text = string(value, at: pointer) else { return nil }
        if let window = names[text] { return window }
        report(
            "unknown value \"\(text)\" at \(pointer); expected second, minute, hour, day or a number of seconds",
            at: pointer,
            suggestion: Suggestion.closest(to: text, among: names.keys.sorted())
        )
        return nil
    }

    /// A list of argument paths to redact (`[args.password]`); each must name an argument.
    public mutating func argumentRedaction(_ value: JSONValue, at pointer: JSONPointer) -> ArgumentRedaction? {
        guard let paths = strings(value, at: pointer) else { return nil }
        for (index, path) in paths.enumerated() where !ArgumentRedaction.isArgumentPath(path) {
            report(
                "\"\(path)\" at \(pointer.appending(index)) is not an argument path; write it as args.<name>",
                at: pointer.appending(index))
        }
        return ArgumentRedaction(paths: paths)
    }

    mutating func decodeApproval(_ value: JSONValue, at pointer: JSONPointer) -> ApprovalRule? {
        guard let object = object(value, at: pointer, keys: ["timeout", "approvers", "on_timeout", "redact"]) else { return nil }
        var rule = ApprovalRule(pointer: pointer)
        if let value = object["timeout"], let seconds = durationSeconds(value, at: pointer.appending("timeout")) {
            rule.timeoutSeconds = seconds
        }
        if let value = object["approvers"], let approvers = strings(value, at: pointer.appending("approvers")) {
            rule.approvers = approvers
        }
        if let value = object["redact"], let redaction = argumentRedaction(value, at: pointer.appending("redact")) {
            rule.redact = redaction
        }
        if let value = object["on_timeout"], let action = string(value, at: pointer.appending("on_timeout")), action != "deny" {
            report(
                "\"on_timeout\" must be \"deny\" at \(pointer.appending("on_timeout")): a call nobody approved is never forwarded",
                at: pointer.appending("on_timeout"),
                suggestion: "deny"
            )
        }
        return rule
    }
}

extension ToolRule {
    /// The keys of this rule that can deny or hold a call, as written: `require`, `deny_if`,
    /// `args`, `validate_input`, `limits`, `rate_limit`, `action` (deny or require_approval), `approval`.
    var enforcingKeys: [String] {
        var keys: [String] = []
        if action == .deny || action == .requireApproval { keys.append("action") }
        if !require.isEmpty { keys.append("require") }
        if !denyIf.isEmpty { keys.append("deny_if") }
        if arguments != nil { keys.append("args") }
        if validateInput { keys.append("validate_input") }
        if limits.contains(where: { $0.pointer.tokens.last != "rate_limit" }) { keys.append("limits") }
        if limits.contains(where: { $0.pointer.tokens.last == "rate_limit" }) { keys.append("rate_limit") }
        if approval != nil { keys.append("approval") }
        return keys
    }
}
