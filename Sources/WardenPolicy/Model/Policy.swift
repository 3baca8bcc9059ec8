public import WardenJSON

/// A loaded, validated policy: the rules Warden enforces on every `tools/call` of a server.
///
/// Load one with ``PolicyLoader``; evaluate calls with ``Policy/evaluate(_:counters:now:)``.
///
/// ```swift
/// let policy = try PolicyLoader.load(yaml: """
///     version: "1"
///     default: deny
///     tools:
///       get_time: {}
///     """)
/// ```
public struct Policy: Sendable {
    /// What happens to a tool that has no entry under `tools`. The default is ``DefaultAction/deny``.
    public enum DefaultAction: String, Sendable, CaseIterable {
        case allow
        case deny
    }

    /// The schema version; always `"1"`.
    public var version: String
    /// The `default` action for tools without an entry.
    public var defaultAction: DefaultAction
    /// The `hide` list.
    public var hide: HideList
    /// Rules applied to every tool (`all_tools`), evaluated before the tool's own rules.
    public var allTools: ToolRule?
    /// The per-tool rules, by byte-exact tool name.
    public var tools: [ExactName: ToolRule]
    /// The tool names of `tools` in document order.
    public var toolNames: [String]
    /// Whether denials are enforced (`mode: enforce`, the default) or only reported (`mode: shadow`).
    public var mode: EnforcementMode
    /// Test cases carried in the policy file under `tests`.
    public var tests: [PolicyTestCase]
    /// What loading found likely to be a mistake, though the policy is valid and enforced as
    /// written (``PolicyProblem/Severity/warning``), in document order.
    public var warnings: [PolicyProblem] = []

    public init(
        version: String = "1",
        defaultAction: DefaultAction = .deny,
        hide: HideList = HideList(),
        allTools: ToolRule? = nil,
        tools: [ToolRule] = [],
        mode: EnforcementMode = .enforce,
        tests: [PolicyTestCase] = []
    ) {
        self.version = version
        self.defaultAction = defaultAction
        self.hide = hide
        self.allTools = allTools
        self.tools = Dictionary(tools.map { (ExactName($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        self.toolNames = tools.map(\.name)
        self.mode = mode
        self.tests = tests
    }

    /// The rule entry of the tool called `name` (byte-exact), if it has one.
    public func rule(forTool name: String) -> ToolRule? {
        tools[ExactName(name)]
    }
}

/// Whether a policy (or one tool's rules) enforces its denials or only reports them.
public enum EnforcementMode: String, Sendable, CaseIterable {
    /// Denials are enforced. The default.
    case enforce
    /// Everything is evaluated, nothing is enforced: would-be denials are forwarded and
    /// reported as not enforced, so a new policy can be tried on live traffic.
    case shadow
}

/// The `hide` list: tools removed from `tools/list` and refused as unknown.
public struct HideList: Sendable {
    /// Byte-exact names of hidden tools.
    public var names: Set<ExactName>
    /// `"*"` was listed: every tool without its own entry under `tools` is hidden.
    public var hidesUnlisted: Bool

    public init(names: [String] = [], hidesUnlisted: Bool = false) {
        self.names = Set(names.map(ExactName.init))
        self.hidesUnlisted = hidesUnlisted
    }
}
