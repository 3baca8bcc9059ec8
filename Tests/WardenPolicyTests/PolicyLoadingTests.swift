import Testing
import WardenJSON
import WardenPolicy

@Suite struct PolicyLoadingTests {
    @Test func unknownKeyIsReportedWithPositionPointerAndSuggestion() {
        let found = problems(
            """
            version: "1"
            tools:
              transfer:
                limts:
                  - {window: minute, max: 3}
            """)
        #expect(found.count == 1)
        let problem = found[0]
        #expect(problem.message == "unknown key \"limts\" at /tools/transfer")
        #expect(problem.suggestion == "limits")
        #expect(problem.pointer.description == "/tools/transfer/limts")
        #expect(problem.position == JSONPosition(line: 4, column: 5))
        #expect(problem.description == "test.yaml:4:5: unknown key \"limts\" at /tools/transfer — did you mean \"limits\"?")
    }

    @Test func everyProblemIsReportedNotJustTheFirst() {
        let found = problems(
            """
            version: "1"
            default: denny
            mode: shadw
            tools:
              a:
                action: alow
                limits:
                  - {window: fortnight, max: 0, scope: planet}
                require:
                  - {path: args.x, op: equals, value: 1}
                  - {path: user.name, op: eq, value: 1}
                  - {path: args.y, op: regex, value: "(unclosed"}
            """)
        let messages = found.map(\.message)
        #expect(found.count == 9, "\(messages)")
        #expect(found.contains { $0.pointer.description == "/default" && $0.suggestion == "deny" })
        #expect(found.contains { $0.pointer.description == "/mode" && $0.suggestion == "shadow" })
        #expect(found.contains { $0.pointer.description == "/tools/a/action" && $0.suggestion == "allow" })
        #expect(found.contains { $0.pointer.description == "/tools/a/limits/0/window" })
        #expect(found.contains { $0.pointer.description == "/tools/a/limits/0/max" && $0.message.contains("greater than 0") })
        #expect(found.contains { $0.pointer.description == "/tools/a/limits/0/scope" && $0.message.contains("grant") })
        #expect(found.contains { $0.pointer.description == "/tools/a/require/0/op" && $0.message.contains("not_in") })
        #expect(found.contains { $0.pointer.description == "/tools/a/require/1/path" })
        #expect(found.contains { $0.pointer.description == "/tools/a/require/2/value" && $0.message.contains("regular expression") })
        // Positions are in document order and point at the offending lines.
        #expect(found.first { $0.pointer.description == "/default" }?.position?.line == 2)
        #expect(found.first { $0.pointer.description == "/tools/a/require/2/value" }?.position?.line == 12)
    }

    @Test func jsonProblemsCarryLineAndColumn() {
        let found = problems(
            """
            {
              "version": "1",
              "tools": {"x": {"rate_limit": {"max": 10, "windw": 60}}}
            }
            """, format: .json)
        #expect(found.count == 2)
        let unknown = found.first { $0.pointer.description == "/tools/x/rate_limit/windw" }
        #expect(unknown?.position?.line == 3)
        #expect(unknown?.suggestion == "window")
        #expect(found.contains { $0.message == "missing required key \"window\" at /tools/x/rate_limit" })
    }

    @Test func wrongTypesAreErrors() {
        let found = problems(
            """
            tools:
              a:
                validate_input: "yes"
                reason: 12
                deny_if: {conditions: []}
              b: []
            hide: tool_c
            """)
        #expect(found.map(\.pointer.description).sorted() == ["/hide", "/tools/a/deny_if", "/tools/a/reason", "/tools/a/validate_input", "/tools/b"])
        #expect(found.contains { $0.message == "expected true or false at /tools/a/validate_input, found string" })
    }

    @Test func syntaxErrorsAreLocated() {
        let json = problems("{\"version\": \"1\",\n \"tools\": {\"a\": {}, \"a\": {}}}", format: .json)
        #expect(json.count == 1)
        #expect(json[0].message.contains("duplicate key"))
        #expect(json[0].position?.line == 2)

        let yaml = problems("tools:\n  a: {}\n  a: {}\n")
        #expect(yaml.count == 1)
        #expect(yaml[0].message.contains("duplicate key"))

        let broken = problems("tools: [unclosed\n")
        #expect(broken.count == 1)
        #expect(broken[0].message.hasPrefix("invalid YAML"))
        #expect(broken[0].position != nil)
    }

    @Test func yamlUsesTheCoreSchema() throws {
        // `no` and `on` stay strings (no Norway problem); numbers keep their exact value.
        let policy = try loadYAML(
            """
            tools:
              t:
                deny_if:
                  - conditions: [{path: args.country, op: eq, value: no}]
                  - conditions: [{path: args.amount, op: gt, value: 100.0000000001}]
            """)
        #expect(evaluate(policy, try call("t", #"{"country": "no"}"#)).outcome == .deny)
        #expect(evaluate(policy, try call("t", #"{"country": false}"#)).outcome == .allow)
        #expect(evaluate(policy, try call("t", #"{"amount": 100.00000000011}"#)).outcome == .deny)
        #expect(evaluate(policy, try call("t", #"{"amount": 100.0000000001}"#)).outcome == .allow)
        #expect(!problems("tools: {t: {limits: [{window: minute, max: .inf}]}}").isEmpty)
    }

    @Test func versionMustBeOne() {
        #expect(problems("version: \"2\"").first?.message.contains("unsupported version") == true)
        #expect(problems("version: 1").isEmpty)
    }

    @Test func formatIsDetected() {
        #expect(PolicyFormat.detect(file: "p.json", bytes: Array("a: 1".utf8)) == .json)
        #expect(PolicyFormat.detect(file: "p.yml", bytes: Array("{}".utf8)) == .yaml)
        #expect(PolicyFormat.detect(file: nil, bytes: Array("  {\"a\":1}".utf8)) == .json)
        #expect(PolicyFormat.detect(file: "p.txt", bytes: Array("default: deny".utf8)) == .yaml)
    }

    @Test func onTimeoutMustBeDeny() {
        let found = problems("tools: {t: {approval: {timeout: 10m, on_timeout: allow}}}")
        #expect(found.count == 1)
        #expect(found[0].pointer.description == "/tools/t/approval/on_timeout")
    }

    @Test func durationsAndWindows() throws {
        let policy = try loadYAML(
            """
            tools:
              t:
                approval: {timeout: 2h, approvers: [alice, "team:ops"]}
                limits:
                  - {window: second, max: 1}
                  - {window: hour, max: 1}
                  - {window: day, max: 1}
                  - {window: 90, max: 1}
            """)
        let rule = try #require(policy.rule(forTool: "t"))
        #expect(rule.approval?.timeoutSeconds == 7200)
        #expect(rule.approval?.approvers == ["alice", "team:ops"])
        #expect(rule.limits.map(\.window) == [.second, .hour, .day, .seconds(90)])
        #expect(!problems("tools: {t: {approval: {timeout: soon}}}").isEmpty)
        #expect(!problems("tools: {t: {limits: [{window: 0, max: 1}]}}").isEmpty)
        #expect(!problems("tools: {t: {limits: [{window: 1.5, max: 1}]}}").isEmpty)
    }

    @Test func testCasesLoadFromAListOrATestsObject() throws {
        let list = try PolicyLoader.loadTestCases(Array("- {tool: a, expect: allow}\n- {tool: b, expect: deny, repeat: 3}".utf8), file: "c.yaml")
        #expect(list.map(\.call.tool) == ["a", "b"])
        #expect(list[1].repeatCount == 3)
        let object = try PolicyLoader.loadTestCases(Array(#"{"tests":[{"tool":"a","expect":"hidden"}]}"#.utf8), file: "c.json")
        #expect(object.first?.expectedOutcome == .hidden)
        #expect(throws: PolicyLoadError.self) {
            try PolicyLoader.loadTestCases(Array("- {tool: a, expect: maybe}".utf8), file: "c.yaml")
        }
    }
}
