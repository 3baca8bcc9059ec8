import Synchronization
public import WardenCatalogue
import WardenJSON

/// Pins and poisoning checks on one server's tool definitions, shared by every session with
/// that server. A session asks it about each `tools/list` it relays (and each listing Warden
/// makes itself, as after `notifications/tools/list_changed`), and about each `tools/call`:
/// a tool whose definition drifted from its pin, or whose definition has poisoning findings,
/// is blocked (hidden and refused as unknown), held for approval, or only logged.
///
/// It can only make a tool stricter than the policy: a tool the policy hides stays hidden, a
/// call the policy denies stays denied.
public final class ToolDefinitionGuard: Sendable {
    /// What happens to a tool that drifted, or has poisoning findings.
    public enum Action: String, Sendable, CaseIterable, Comparable {
        /// Audited only.
        case log
        /// Listed, but each call is held for approval, the reason shown to the approver.
        case requireApproval = "require_approval"
        /// Hidden from `tools/list` and refused as unknown.
        case block

        private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

        public static func < (lhs: Action, rhs: Action) -> Bool { lhs.rank < rhs.rank }
    }

    /// What the guard checks, for one server.
    public struct Configuration: Sendable {
        /// The server's name, as its pins are filed under in the lock file.
        public var server: String
        /// The pins; `nil` for no pinning.
        public var pins: PinBook?
        /// What happens to a drifted tool. The default is `block`.
        public var onDrift: Action
        /// What happens to a tool with a poisoning finding at or above ``poisoningSeverity``;
        /// `nil` (the default) for no poisoning checks.
        public var onPoisoning: Action?
        /// The least severity of a poisoning finding that counts. The default is `high`.
        public var poisoningSeverity: Severity

        public init(
            server: String, pins: PinBook?, onDrift: Action = .block, onPoisoning: Action? = nil, poisoningSeverity: Severity = .high
        ) {
            self.server = server
            self.pins = pins
            self.onDrift = onDrift
            self.onPoisoning = onPoisoning
            self.poisoningSeverity = poisoningSeverity
        }

        /// Whether anything is checked at all.
        public var isActive: Bool { pins != nil || onPoisoning != nil }
    }

    /// What the guard says of one tool.
    struct Verdict: Sendable {
        var action: Action
        /// The setting that decided: `/on_drift` or `/on_poisoning`.
        var rule: String
        /// One line: what is wrong and what happens.
        var reason: String
        /// What an approver should see: the diff, the findings.
        var detail: String
    }

    /// Something to audit once: a drift, or a definition's poisoning findings.
    struct Event: Sendable {
        /// `drift` or `poisoning`.
        var decision: String
        var tool: String
        var rule: String
        var message: String
    }

    /// A tool as a session saw it listed, with its fingerprint computed once.
    struct Listed: Sendable {
        var definition: ToolDefinition
        var fingerprint: String
    }

    public let configuration: Configuration
    /// The poisoning findings that count, by definition fingerprint (computed once per definition).
    private let findings = Mutex<[String: [Finding]]>([:])
    /// Definitions (name and fingerprint) whose findings have been audited.
    private let reportedFindings = Mutex<Set<String>>([])
    /// The most definitions whose findings are remembered.
    private static let findingsCapacity = 4096

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Checks a listing (one page, or every page when `complete`): the verdict on each tool,
    /// and what to audit that was not audited before.
    func screen(_ listed: [Listed], complete: Bool) -> (verdicts: [ExactName: Verdict], events: [Event]) {
        var events: [Event] = []
        if let pins = configuration.pins {
            let drifts = pins.pins(of: configuration.server).drift(of: listed.map(\.definition), complete: complete)
            for drift in pins.observe(drifts, seen: listed.map(\.definition.name), server: configuration.server) {
                events.append(Event(decision: "drift", tool: drift.tool, rule: "/on_drift", message: Self.auditMessage(drift, action: configuration.onDrift)))
            }
        }
        if configuration.onPoisoning != nil {
            let peers = listed.map(\.definition)
            for tool in listed {
                let found = poisoningFindings(tool, peers: peers)
                guard !found.isEmpty, reportedFindings.withLock({ $0.insert(tool.definition.name + "\u{0}" + tool.fingerprint).inserted }) else { continue }
                events.append(Event(
                    decision: "poisoning", tool: tool.definition.name, rule: "/on_poisoning",
                    message: "\(poisoningReason(tool.definition.name, found)); \(Self.consequence(configuration.onPoisoning ?? .log, setting: "on_poisoning"))\n\(Self.describe(found))"))
            }
        }
        var verdicts: [ExactName: Verdict] = [:]
        for tool in listed {
            if let verdict = verdict(for: tool, peers: listed.map(\.definition)) { verdicts[ExactName(tool.definition.name)] = verdict }
        }
        return (verdicts, events)
    }

    /// The verdict on a tool as listed now (pins can change under a session: a re-pin applies
    /// at once); `nil` when nothing is wrong with it, or only logged.
    func verdict(for tool: Listed, peers: [ToolDefinition] = []) -> Verdict? {
        var verdicts: [Verdict] = []
        if let pins = configuration.pins {
            let pinned = pins.pins(of: configuration.server)
            if pinned[tool.definition.name]?.sha256 != tool.fingerprint, let drift = pinned.drift(of: tool.definition) {
                verdicts.append(Verdict(
                    action: configuration.onDrift, rule: "/on_drift",
                    reason: "\(drift.summary); \(Self.consequence(configuration.onDrift, setting: "on_drift"))", detail: drift.diff))
            }
        }
        if let action = configuration.onPoisoning {
            let found = poisoningFindings(tool, peers: peers)
            if !found.isEmpty {
                verdicts.append(Verdict(
                    action: action, rule: "/on_poisoning",
                    reason: "\(poisoningReason(tool.definition.name, found)); \(Self.consequence(action, setting: "on_poisoning"))",
                    detail: Self.describe(found)))
            }
        }
        guard let strictest = verdicts.max(by: { $0.action < $1.action }), strictest.action > .log else { return nil }
        return Verdict(
            action: strictest.action, rule: strictest.rule, reason: verdicts.map(\.reason).joined(separator: "; "),
            detail: verdicts.map(\.detail).joined(separator: "\n"))
    }

    private func poisoningFindings(_ tool: Listed, peers: [ToolDefinition]) -> [Finding] {
        if let known = findings.withLock({ $0[tool.fingerprint] }) { return known }
        let threshold = configuration.poisoningSeverity
        let found = PoisoningChecks.check(tool.definition, peers: peers).filter { $0.severity >= threshold }
        findings.withLock { findings in
            if findings.count >= Self.findingsCapacity { findings.removeAll() }
            findings[tool.fingerprint] = found
        }
        return found
    }

    private func poisoningReason(_ tool: String, _ found: [Finding]) -> String {
        let worst = found.map(\.severity).max() ?? configuration.poisoningSeverity
        return "the definition of \(tool) has \(found.count) poisoning finding\(found.count == 1 ? "" : "s") (worst: \(worst.rawValue))"
    }

    static func describe(_ found: [Finding]) -> String {
        found.map { "[\($0.severity.rawValue)] \($0.check) at \($0.location): \($0.message) “\($0.matched)”" }.joined(separator: "\n")
    }

    /// What `action` does, in words.
    static func consequence(_ action: Action, setting: String) -> String {
        switch action {
        case .block: "hidden and refused as unknown until re-pinned or fixed (\(setting): block)"
        case .requireApproval: "each call held for approval (\(setting): require_approval)"
        case .log: "logged only (\(setting): log)"
        }
    }

    /// The audit message of a drift: its summary and hashes, what happens, and the diff.
    static func auditMessage(_ drift: ToolDrift, action: Action) -> String {
        let limit = 8000
        var diff = drift.diff
        if diff.count > limit { diff = String(diff.prefix(limit)) + "\n  … (diff cut at \(limit) characters)" }
        let what = drift.kind == .removed ? "logged (a removed tool cannot be called)" : consequence(action, setting: "on_drift")
        return "\(drift.summary); \(what)\n\(diff)"
    }
}
