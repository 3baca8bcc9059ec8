// Measures the cost of a policy decision: `swift run -c release warden-bench [iterations]`.
//
// The policy has 50 tools, each with `require`, `deny_if` (regex and numeric conditions),
// an argument schema and a rate limit; calls rotate over the tools with realistic
// arguments. Evaluation reads a counter snapshot (a dictionary), as the gateway does.
import Foundation
import WardenJSON
import WardenPolicy

let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 2_000_000
let toolCount = 50

func makePolicy() throws -> Policy {
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
    for index in 0..<toolCount {
        yaml += """
              tool_\(index):
                require:
                  - {path: identity.labels.team, op: in, value: [payments, platform, ops]}
                deny_if:
                  - conditions:
                      - {path: args.amount, op: gt, value: 10000.50}
                    on_deny: too large
                  - conditions:
                      - {path: args.email, op: regex, value: "@(evil|spam)\\\\.example$"}
                args:
                  type: object
                  required: [amount, email]
                  properties:
                    amount: {type: number, minimum: 0}
                    email: {type: string, maxLength: 254}
                    note: {type: string}
                  additionalProperties: false
                limits:
                  - {counter: tool_\(index)_rate, window: minute, max: 1000000, scope: grant}

            """
    }
    return try PolicyLoader.load(yaml: yaml)
}

let policy = try makePolicy()
let identity = Identity(name: "agent-7", grant: "grant-7", labels: ["team": "payments"])
let calls: [ToolCall] = (0..<toolCount).map { index in
    let arguments = try! JSONReader.parse(#"{"amount": 125.75, "email": "alice@example.com", "note": "invoice 42"}"#)
    return ToolCall(tool: "tool_\(index)", arguments: arguments.objectValue!, identity: identity, server: "payments", session: "s-1")
}
let now = Date()
let snapshot: [CounterKey: CounterAmount] = [:]

// Warm up, and check the decisions are what the policy says.
for call in calls {
    let decision = policy.evaluate(call, counters: snapshot, now: now)
    precondition(decision.outcome == .allow, "unexpected \(decision.outcome): \(decision.message)")
}

var allowed = 0
let clock = ContinuousClock()
let elapsed = clock.measure {
    for iteration in 0..<iterations {
        let decision = policy.evaluate(calls[iteration % toolCount], counters: snapshot, now: now)
        if decision.outcome == .allow { allowed += 1 }
    }
}
precondition(allowed == iterations)
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let nanosPerDecision = seconds * 1e9 / Double(iterations)
print("policy: \(toolCount) tools, each with require, 2 deny_if (numeric, regex), args schema, 1 limit")
print(String(format: "decisions:   %d in %.3f s", iterations, seconds))
print(String(format: "per decision: %.0f ns", nanosPerDecision))
print(String(format: "throughput:  %.2f M decisions/s on one core", Double(iterations) / seconds / 1e6))
