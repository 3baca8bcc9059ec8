import Foundation
import Testing
import WardenJSON
import WardenPolicy
import WardenTesting

/// Property-style tests over many generated policies and call sequences, from a seeded generator.
@Suite struct PropertyTests {
    static let ops = ["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "contains"]

    static func randomPolicy(_ random: inout SeededGenerator) -> String {
        var yaml = "default: \(Bool.random(using: &random) ? "allow" : "deny")\nhide: [t3]\ntools:\n"
        for tool in 0..<4 {
            yaml += "  t\(tool):\n    deny_if:\n"
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let op = ops.randomElement(using: &random)!
                let number = Int.random(in: 0...5, using: &random)
                let value = switch op {
                case "in", "not_in": "[\(number), 3]"
                case "exists": number % 2 == 0 ? "true" : "false"
                default: "\(number)"
                }
                yaml += "      - conditions: [{path: args.n, op: \(op), value: \(value)}]\n"
            }
            yaml += "    limits: [{window: \(Int.random(in: 1...5, using: &random)), max: \(Int.random(in: 1...4, using: &random)), scope: global}]\n"
        }
        return yaml
    }

    @Test func evaluationIsDeterministic() throws {
        var random = SeededGenerator(seed: 42)
        for _ in 0..<200 {
            let policy = try loadYAML(Self.randomPolicy(&random))
            let theCall = try call("t\(Int.random(in: 0...4, using: &random))", #"{"n": \#(Int.random(in: 0...6, using: &random))}"#)
            let counts: [CounterKey: CounterAmount] = Dictionary(
                uniqueKeysWithValues: policy.counterKeys(for: theCall, now: testInstant).map { ($0, CounterAmount(Int64.random(in: 0...4, using: &random))) })
            let first = policy.evaluate(theCall, counters: counts, now: testInstant)
            for _ in 0..<3 {
                let again = policy.evaluate(theCall, counters: counts, now: testInstant)
                #expect(again.outcome == first.outcome)
                #expect(again.rule == first.rule)
                #expect(again.message == first.message)
                #expect(again.reservations == first.reservations)
            }
        }
    }

    @Test func limitsNeverAllowMoreThanMaxInAWindow() async throws {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<50 {
            let max = Int.random(in: 1...6, using: &random)
            let window = Int.random(in: 1...10, using: &random)
            let policy = try loadYAML("tools:\n  t:\n    limits: [{window: \(window), max: \(max), scope: global}]\n")
            let enforcer = PolicyEnforcer(policy: policy, ledger: InMemoryCounterLedger())
            var allowedPerWindow: [Int64: Int] = [:]
            var attemptedPerWindow: [Int64: Int] = [:]
            var time = testInstant
            for _ in 0..<200 {
                time = time.addingTimeInterval(Double(Int.random(in: 0...1500, using: &random)) / 1000)
                let decision = try await enforcer.decide(try call("t"), now: time)
                let windowStart = LimitWindow.seconds(window).start(containing: time)
                attemptedPerWindow[windowStart, default: 0] += 1
                if decision.outcome == .allow {
                    allowedPerWindow[windowStart, default: 0] += 1
                } else {
                    #expect(decision.retryAfterSeconds.map { $0 >= 1 && $0 <= window } == true)
                }
            }
            // Each window lets through exactly min(max, calls made in it): never more, none lost.
            for (windowStart, attempted) in attemptedPerWindow {
                #expect(allowedPerWindow[windowStart, default: 0] == Swift.min(max, attempted))
            }
        }
    }
}
