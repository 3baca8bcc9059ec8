import WardenJSON

/// The test cases a starter policy carries: for each class present, one call of its first
/// tool with the decision the rules must give (allowed; the call over a limit refused; held
/// for approval; over budget refused), a call with an unknown argument refused by `args`,
/// a hidden tool hidden, and a tool not named refused by the default.
enum StarterTests {
    struct Case {
        var name: String
        var tool: String
        var args: JSONValue
        var repeatCount = 1
        var expect: String
        var rule: String?
    }

    static func cases(rules: [StarterRule], hidden: [String], limits: StarterPolicy.Limits) -> [Case] {
        var cases: [Case] = []
        let pointer = { (tool: String, rest: [String]) in JSONPointer(tokens: ["tools", tool] + rest).description }
        for toolClass in ToolClass.allCases {
            guard let rule = rules.first(where: { $0.toolClass == toolClass }) else { continue }
            let args = SampleArguments.value(for: rule.args)
            let name = rule.name
            switch toolClass {
            case .read:
                cases.append(Case(name: "read: \(name) is allowed", tool: name, args: args, expect: "allow"))
            case .write, .other:
                cases.append(Case(name: "\(toolClass.rawValue): \(name) is allowed", tool: name, args: args, expect: "allow"))
                cases.append(
                    Case(
                        name: "\(toolClass.rawValue): call \(limits.writesPerMinute + 1) of \(name) in a minute is refused", tool: name, args: args,
                        repeatCount: limits.writesPerMinute + 1, expect: "deny", rule: pointer(name, ["limits", "0"])))
            case .execute:
                if rule.approval != nil {
                    cases.append(Case(name: "execute: \(name) is held for approval", tool: name, args: args, expect: "approval_required"))
                } else {
                    cases.append(
                        Case(
                            name: "execute: call \(limits.executionsPerMinute + 1) of \(name) in a minute is refused", tool: name, args: args,
                            repeatCount: limits.executionsPerMinute + 1, expect: "deny", rule: pointer(name, ["limits", "0"])))
                }
            case .destructive:
                cases.append(Case(name: "destructive: \(name) is held for approval", tool: name, args: args, expect: "approval_required"))
            case .financial:
                cases.append(Case(name: "financial: \(name) is held for approval", tool: name, args: args, expect: "approval_required"))
                if let limit = rule.limits.first, let field = limit.incrementFrom?.dropFirst("args.".count), case .object(var over) = args {
                    over.set(String(field), to: .number(JSONNumber(limit.max + 1)))
                    cases.append(
                        Case(
                            name: "financial: \(name) over the daily budget is refused", tool: name, args: .object(over), expect: "deny",
                            rule: pointer(name, ["limits", "0"])))
                }
            }
        }
        if let rule = rules.first, case .object(var unknown) = SampleArguments.value(for: rule.args) {
            unknown.set("warden_unknown_argument", to: 1)
            cases.append(
                Case(
                    name: "args: \(rule.name) with an unknown argument is refused", tool: rule.name, args: .object(unknown), expect: "deny",
                    rule: pointer(rule.name, ["args", "additionalProperties"])))
        }
        for name in hidden {
            cases.append(Case(name: "hidden: \(name) is hidden", tool: name, args: [:], expect: "hidden"))
        }
        let named = Set(rules.map(\.name) + hidden)
        var unnamed = "warden_unlisted_tool"
        while named.contains(unnamed) { unnamed += "_" }
        cases.append(Case(name: "a tool the server did not list is refused", tool: unnamed, args: [:], expect: "deny"))
        return cases
    }
}
