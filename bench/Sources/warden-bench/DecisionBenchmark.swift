// The decision benchmark: the cost of one policy decision.
//
// The policy has 50 tools, each with a `require` condition on an identity label, two
// `deny_if` rules (a numeric and a regex condition), an argument schema and a rate limit;
// calls rotate over the tools with realistic arguments. Three measurements:
// - evaluate: `Policy.evaluate` against a counter snapshot, as the gateway does per call;
// - evaluate, no regex: the same policy without the regex rule (regexes dominate the cost);
// - decide + reserve: `PolicyEnforcer.decide`, i.e. snapshot, evaluate and an atomic
//   reservation in the in-memory ledger;
// - decide + reserve, SQLite: the same with the SQLite ledger, blocking, as `warden run`
//   decides (a hundredth of the iterations).
import Foundation
import WardenJSON
import WardenPolicy
import WardenStore

private let toolCount = 50

func makePolicy(withRegex: Bool) throws -> Policy {
    var yaml = """
        version: "1"
        default: deny
        hide: [admin_reset]
        all_tools:
          deny_if:
            - conditions: [{path: identity.labels.suspended, op: eq, value: "true"}]
              on_deny: suspended
        tools:

        """
    let regexRule = """
              - conditions:
                  - {path: args.email, op: regex, value: "@(evil|spam)\\\\.example$"}

        """
    for index in 0..<toolCount {
        yaml += """
              tool_\(index):
                require:
                  - {path: identity.labels.team, op: in, value: [payments, platform, ops]}
                deny_if:
                  - conditions:
                      - {path: args.amount, op: gt, value: 10000.50}
                    on_deny: too large

            """
        if withRegex { yaml += regexRule }
        yaml += """
                args:
                  type: object
                  required: [amount, email]
                  properties:
                    amount: {type: number, minimum: 0}
                    email: {type: string, maxLength: 254}
                    note: {type: string}
                  additionalProperties: false
                limits:
                  - {counter: tool_\(index)_rate, window: day, max: 1000000000, scope: grant}

            """
    }
    return try PolicyLoader.load(yaml: yaml)
}

private let identity = Identity(name: "agent-7", grant: "grant-7", labels: ["team": "payments"])
private let callArguments = try! JSONReader.parse(#"{"amount": 125.75, "email": "alice@example.com", "note": "invoice 42"}"#).objectValue!
private let calls = (0..<toolCount).map { ToolCall(tool: "tool_\($0)", arguments: callArguments, identity: identity, server: "payments", session: "s-1") }
private let now = Date()
private let emptySnapshot: [CounterKey: CounterAmount] = [:]

func report(_ name: String, _ iterations: Int, _ duration: Duration) {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    let nanos = seconds * 1e9 / Double(iterations)
    let label = name.padding(toLength: 26, withPad: " ", startingAt: 0)
    print(label + String(format: "%7.0f ns/decision %6.2f M decisions/s", nanos, Double(iterations) / seconds / 1e6))
}

func measureEvaluate(_ policy: Policy, _ iterations: Int) -> Duration {
    for call in calls {
        let decision = policy.evaluate(call, counters: emptySnapshot, now: now)
        precondition(decision.outcome == .allow, "unexpected \(decision.outcome): \(decision.message)")
    }
    var allowed = 0
    let duration = ContinuousClock().measure {
        for iteration in 0..<iterations where policy.evaluate(calls[iteration % toolCount], counters: emptySnapshot, now: now).outcome == .allow {
            allowed += 1
        }
    }
    precondition(allowed == iterations)
    return duration
}

func measureEnforce(_ policy: Policy, _ iterations: Int) async throws -> Duration {
    let enforcer = PolicyEnforcer(policy: policy, ledger: InMemoryCounterLedger())
    var allowed = 0
    let start = ContinuousClock.now
    for iteration in 0..<iterations where try await enforcer.decide(calls[iteration % toolCount], now: now).outcome == .allow {
        allowed += 1
    }
    let duration = ContinuousClock.now - start
    precondition(allowed == iterations)
    return duration
}

/// Runs the decision benchmark with `iterations` decisions per measurement.
func runDecisionBenchmark(iterations: Int) async throws {
    print("policy: \(toolCount) tools, each with require, deny_if (numeric; regex), args schema, 1 limit; \(iterations) decisions")
    let full = try makePolicy(withRegex: true)
    report("evaluate", iterations, measureEvaluate(full, iterations))
    report("evaluate, no regex", iterations, measureEvaluate(try makePolicy(withRegex: false), iterations))
    report("decide + reserve", iterations, try await measureEnforce(full, iterations))
    let sqliteIterations = max(1, iterations / 100)
    report("decide + reserve, SQLite", sqliteIterations, try await measureSQLite(full, sqliteIterations))
}

/// `decide` with the SQLite ledger, as `warden run` decides: one write per call.
func measureSQLite(_ policy: Policy, _ iterations: Int) async throws -> Duration {
    let folder = FileManager.default.temporaryDirectory.appending(path: "warden-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let enforcer = PolicyEnforcer(policy: policy, ledger: try SQLiteStore(path: folder.appending(path: "warden.db").path).counters)
    var allowed = 0
    let start = ContinuousClock.now
    for iteration in 0..<iterations where try await enforcer.decide(calls[iteration % toolCount], now: now).outcome == .allow {
        allowed += 1
    }
    let duration = ContinuousClock.now - start
    precondition(allowed == iterations)
    return duration
}
