import Foundation
import WardenJSON
import WardenPolicy

/// A fixed instant: 2026-03-14T15:09:26Z, 26 s into its minute.
let testInstant = Date(timeIntervalSince1970: 1_773_500_966)

func loadYAML(_ yaml: String) throws -> Policy {
    try PolicyLoader.load(yaml: yaml, file: "test.yaml")
}

/// The problems loading `yaml` reports (empty if it loads).
func problems(_ yaml: String, format: PolicyFormat = .yaml) -> [PolicyProblem] {
    do {
        _ = try PolicyLoader.load(Array(yaml.utf8), file: "test.\(format.rawValue)", format: format)
        return []
    } catch {
        return error.problems
    }
}

func call(
    _ tool: String,
    _ arguments: String = "{}",
    identity: Identity = Identity(name: "alice", grant: "g-1", labels: ["team": "payments"]),
    server: String? = "srv",
    session: String? = "s-1"
) throws -> ToolCall {
    let value = try JSONReader.parse(arguments)
    return ToolCall(tool: tool, arguments: value.objectValue!, identity: identity, server: server, session: session)
}

/// Evaluates with empty counters.
func evaluate(_ policy: Policy, _ call: ToolCall, now: Date = testInstant) -> Decision {
    policy.evaluate(call, counters: [CounterKey: CounterAmount](), now: now)
}

/// Runs `count` calls through an enforcer with one in-memory ledger and returns the decisions.
func enforce(_ policy: Policy, _ call: ToolCall, times count: Int, now: Date = testInstant, ledger: InMemoryCounterLedger = InMemoryCounterLedger()) async throws -> [Decision] {
    let enforcer = PolicyEnforcer(policy: policy, ledger: ledger)
    var decisions: [Decision] = []
    for _ in 0..<count {
        decisions.append(try await enforcer.decide(call, now: now))
    }
    return decisions
}

/// The package's root folder, for reading examples.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
