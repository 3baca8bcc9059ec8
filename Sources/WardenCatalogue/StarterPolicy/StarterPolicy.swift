import WardenJSON

/// Writes a starter policy for a scanned server, in YAML with a comment on each rule saying
/// why, and `tests:` covering one call per class present (allowed, limited, held):
///
/// - read: allowed;
/// - write (and other): at most 30 calls a minute per grant;
/// - execute: at most 10 a minute per grant, and each call held for approval when its risk
///   is high or above;
/// - destructive: each call held for approval;
/// - financial: each call held for approval, and a value budget counting its amount field
///   where it has one;
/// - every tool: `args` built from its own input schema by ``SchemaTightener``;
/// - a tool with a critical finding (hidden instructions, tag characters) is hidden.
///
/// ```swift
/// let yaml = StarterPolicy().yaml(for: report)
/// ```
public struct StarterPolicy: Sendable {
    /// The numbers a starter policy uses.
    public struct Limits: Sendable {
        /// Calls a minute per grant of a write (or unclassified) tool. The default is 30.
        public var writesPerMinute = 30
        /// Calls a minute per grant of an execute tool. The default is 10.
        public var executionsPerMinute = 10
        /// A financial tool's budget: the sum of its amounts a day per grant. The default is 1000.
        public var dailyBudget = 1000
        /// How long a held call waits for a person. The default is "10m".
        public var approvalTimeout = "10m"

        public init() {}
    }

    public var limits = Limits()
    public var tightener = SchemaTightener()

    public init(limits: Limits = Limits(), tightener: SchemaTightener = SchemaTightener()) {
        self.limits = limits
        self.tightener = tightener
    }

    /// The policy's YAML text for `report`'s tools.
    public func yaml(for report: ScanReport) -> String {
        var writer = PolicyYAMLWriter()
        let hidden = report.tools.filter { $0.worstSeverity == .critical }
        let kept = report.tools.filter { $0.worstSeverity != .critical }
        writer.header(for: report, limits: limits)
        writer.line("version: \"1\"")
        writer.line("default: deny  # a tool not named here (one the server adds later, say) is denied")
        if !hidden.isEmpty {
            writer.line("")
            writer.line("# Hidden: their definitions carry a critical finding (see `warden scan`); review them before you allow them.")
            writer.line("hide:")
            for tool in hidden {
                writer.line("  - \(PolicyYAMLWriter.scalar(tool.name))  # \(PolicyYAMLWriter.comment(tool.findings.first.map { "\($0.check): \($0.message)" } ?? ""))")
            }
        }
        var counters = CounterNames()
        var rules: [StarterRule] = []
        if !kept.isEmpty {
            writer.line("")
            writer.line("tools:")
        }
        for tool in kept {
            let rule = StarterRule(tool: tool, limits: limits, args: tightener.tighten(tool.definition.inputSchema), counters: &counters)
            rules.append(rule)
            writer.rule(rule)
        }
        writer.line("")
        writer.tests(StarterTests.cases(rules: rules, hidden: hidden.map(\.name), limits: limits))
        return writer.text
    }
}

/// The names of limit counters: the tool's name made safe, each once.
struct CounterNames {
    private var used: Set<String> = []

    mutating func name(_ tool: String, _ suffix: String) -> String {
        let safe = String(tool.unicodeScalars.map { ($0.properties.isAlphabetic && $0.isASCII) || (48...57).contains($0.value) ? Character($0) : "_" })
        var name = "\(safe)_\(suffix)"
        var index = 2
        while used.contains(name) {
            name = "\(safe)_\(suffix)_\(index)"
            index += 1
        }
        used.insert(name)
        return name
    }
}

/// One tool's rule in a starter policy, before it is written.
struct StarterRule {
    struct Limit {
        var counter: String
        var window: String
        var max: Int
        var incrementFrom: String?
        var why: String
    }

    var tool: ScanReport.Tool
    var approval: String?
    var limits: [Limit] = []
    var args: JSONValue
    /// What the rule does, for its comment.
    var summary: String

    var name: String { tool.name }
    var toolClass: ToolClass { tool.classification.toolClass }

    init(tool: ScanReport.Tool, limits: StarterPolicy.Limits, args: JSONValue, counters: inout CounterNames) {
        self.tool = tool
        self.args = args
        let name = tool.name
        let classification = tool.classification
        switch classification.toolClass {
        case .read:
            summary = "allowed"
        case .write, .other:
            self.limits = [Limit(counter: counters.name(name, "rate"), window: "minute", max: limits.writesPerMinute, why: "")]
            summary = "at most \(limits.writesPerMinute) calls a minute per grant"
        case .execute:
            self.limits = [Limit(counter: counters.name(name, "rate"), window: "minute", max: limits.executionsPerMinute, why: "")]
            summary = "at most \(limits.executionsPerMinute) calls a minute per grant"
            if classification.risk >= .high {
                approval = "\(name) runs commands or code: a person approves each call"
                summary += ", each approved by a person"
            }
        case .destructive:
            approval = "\(name) can destroy data: a person approves each call"
            summary = "each call approved by a person"
        case .financial:
            approval = "\(name) moves money: a person approves each call"
            summary = "each call approved by a person"
            if let field = classification.amountField {
                // A budget cannot count a call that leaves its amount out (the server would use
                // its own default), so the amount becomes required.
                self.args = Self.requiring(field, in: args)
                self.limits = [
                    Limit(
                        counter: counters.name(name, "spend"), window: "day", max: limits.dailyBudget, incrementFrom: "args.\(field)",
                        why: "a budget: at most \(limits.dailyBudget) of `\(field)` a day per grant (required, so every call counts); set your own")
                ]
                summary += ", within a daily budget of `\(field)`"
            }
        }
    }

    /// `schema` with `field` added to its `required` list, when it is one of its properties.
    private static func requiring(_ field: String, in schema: JSONValue) -> JSONValue {
        guard case .object(var object) = schema, object["properties"]?[field] != nil else { return schema }
        var required = object["required"]?.arrayValue ?? []
        if !required.contains(.string(field)) { required.append(.string(field)) }
        object.set("required", to: .array(required))
        return .object(object)
    }
}
