import Testing
import WardenJSON
import WardenPolicy

@Suite struct ShadowModeTests {
    @Test func shadowPoliciesReportButDoNotEnforce() async throws {
        let policy = try loadYAML(
            """
            mode: shadow
            hide: [h]
            tools:
              t:
                deny_if: [{conditions: [{path: args.x, op: eq, value: 1}]}]
                limits: [{window: minute, max: 1}]
            """)
        let denied = evaluate(policy, try call("t", #"{"x": 1}"#))
        #expect(denied.outcome == .deny)
        #expect(!denied.enforced)
        #expect(denied.isForwarded)
        #expect(denied.rule.description == "/tools/t/deny_if/0")

        let hidden = evaluate(policy, try call("h"))
        #expect(hidden.outcome == .hidden && !hidden.enforced)
        #expect(policy.isVisible(tool: "h"))

        // A would-be limit denial reserves nothing, exactly as under enforcement.
        let decisions = try await enforce(policy, call("t"), times: 3)
        #expect(decisions.map(\.outcome) == [.allow, .deny, .deny])
        #expect(decisions.map(\.enforced) == [true, false, false])
        #expect(decisions.map(\.reservations.count) == [1, 0, 0])
        #expect(decisions.allSatisfy { $0.isForwarded })
    }

    @Test func modeCanBeSetPerTool() throws {
        let policy = try loadYAML(
            """
            tools:
              new_rule: {mode: shadow, action: deny}
              old_rule: {action: deny}
            """)
        #expect(!evaluate(policy, try call("new_rule")).enforced)
        #expect(evaluate(policy, try call("old_rule")).enforced)
        #expect(!evaluate(policy, try call("old_rule")).isForwarded)
        let enforcedTool = try loadYAML("mode: shadow\ntools:\n  strict: {mode: enforce, action: deny}\n")
        #expect(evaluate(enforcedTool, try call("strict")).enforced)
    }

    /// Shadow mode is the mode of the whole decision of a call: a tool in shadow mode does not
    /// enforce the `all_tools` rules either, and loading warns where that mode is set.
    @Test func aShadowToolDoesNotEnforceAllTools() throws {
        let policy = try loadYAML(
            """
            all_tools:
              require: [{path: args.repo_path, op: regex, value: "^/srv/"}]
              limits: [{window: minute, max: 1}]
            tools:
              read: {}
              write: {mode: shadow, action: deny}
            """)
        let outside = #"{"repo_path": "/etc"}"#
        let read = evaluate(policy, try call("read", outside))
        #expect(read.outcome == .deny && read.enforced)
        #expect(read.rule.description == "/all_tools/require/0")
        // action: deny comes first in the order; with a fence-passing path too, nothing is enforced.
        let write = evaluate(policy, try call("write", outside))
        #expect(write.outcome == .deny && !write.enforced && write.isForwarded)
        let shadowOnly = try loadYAML(
            """
            all_tools:
              require: [{path: args.repo_path, op: regex, value: "^/srv/"}]
            tools:
              write: {mode: shadow, deny_if: [{conditions: [{path: args.force, op: eq, value: true}]}]}
            """)
        let fenced = evaluate(shadowOnly, try call("write", outside))
        #expect(fenced.rule.description == "/all_tools/require/0")
        #expect(!fenced.enforced && fenced.isForwarded, "the all_tools fence is not enforced for a shadow tool")

        #expect(policy.warnings.count == 1)
        let warning = try #require(policy.warnings.first)
        #expect(warning.pointer.description == "/tools/write/mode")
        #expect(warning.position == JSONPosition(line: 6, column: 11))
        #expect(warning.message.hasPrefix("tool \"write\" is in shadow mode, which covers the all_tools rules (require, limits) too"))
    }

    @Test func shadowModeOfAllToolsOrThePolicyIsAWarningWhenAllToolsHasRules() throws {
        let allTools = try loadYAML("all_tools: {mode: shadow, deny_if: [{conditions: [{path: tool, op: eq, value: x}]}]}\ntools: {t: {}}\n")
        #expect(allTools.warnings.map(\.pointer.description) == ["/all_tools/mode"])
        let whole = try loadYAML("mode: shadow\nall_tools: {rate_limit: {max: 5, window: 60}}\ntools: {t: {mode: shadow}}\n")
        #expect(whole.warnings.map(\.pointer.description) == ["/mode"])
        #expect(whole.warnings.first?.message.contains("(rate_limit)") == true)
        // Nothing to warn about: all_tools without rules that deny, or no shadow mode at all.
        #expect(try loadYAML("mode: shadow\nall_tools: {action: allow}\ntools: {t: {mode: shadow}}\n").warnings.isEmpty)
        #expect(try loadYAML("all_tools: {require: [{path: tool, op: exists}]}\ntools: {t: {}}\n").warnings.isEmpty)
        #expect(try loadYAML("mode: shadow\nall_tools: {require: [{path: tool, op: exists}]}\ntools: {t: {mode: enforce}}\n").warnings.count == 1)
    }
}
