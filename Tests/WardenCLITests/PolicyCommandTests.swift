import ArgumentParser
import Foundation
import Testing
import WardenJSON

@testable import WardenCLI

/// `warden policy ...` run as a user would, through the built binary.
@Suite struct PolicyCommandTests {
    @Test func versionAndHelp() async throws {
        let version = try await WardenBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Warden.version)
        for command in [["--help"], ["policy", "--help"], ["policy", "check", "--help"], ["policy", "eval", "--help"], ["policy", "test", "--help"]] {
            let help = try await WardenBinary.run(command)
            #expect(help.status == 0, "\(command)")
            #expect(help.stdout.contains("USAGE"), "\(command)")
        }
    }

    @Test func checkAcceptsTheExamples() async throws {
        let output = try await WardenBinary.run(["policy", "check", "examples/policies/policylayer.json", "examples/policies/time.yaml"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines == [
            "examples/policies/policylayer.json: ok (1 tool, 0 tests)",
            "examples/policies/time.yaml: ok (2 tools, 5 tests)",
        ])
    }

    @Test func checkReportsEveryProblemWithPositionAndSuggestion() async throws {
        let file = try WardenBinary.temporaryFile(
            "bad.yaml",
            """
            version: "1"
            tools:
              transfer:
                limts: [{window: minute, max: 3}]
              search:
                rate_limit: {max: 10, window: minut}
            """)
        let text = try await WardenBinary.run(["policy", "check", file])
        #expect(text.status == 2)
        #expect(text.lines == [
            "\(file):4:5: unknown key \"limts\" at /tools/transfer — did you mean \"limits\"?",
            "\(file):6:27: unknown value \"minut\" at /tools/search/rate_limit/window; expected second, minute, hour, day or a number of seconds — did you mean \"minute\"?",
        ])

        let json = try await WardenBinary.run(["policy", "check", "--format", "json", file])
        #expect(json.status == 2)
        let report = try JSONReader.parse(json.stdout)
        #expect(report["valid"] == false)
        let problem = try #require(report["files"]?.arrayValue?.first?["problems"]?.arrayValue?.first)
        #expect(problem["pointer"] == "/tools/transfer/limts")
        #expect(problem["line"] == 4)
        #expect(problem["column"] == 5)
        #expect(problem["suggestion"] == "limits")
    }

    @Test func evalCountsLimitsAcrossCalls() async throws {
        let output = try await WardenBinary.run([
            "policy", "eval", "examples/policies/policylayer.json", "--tool", "alterlab_create_session", "--calls", "31",
            "--format", "json",
        ])
        #expect(output.status == 1)
        let decisions = try output.lines.map { try JSONReader.parse($0) }
        #expect(decisions.count == 31)
        #expect(decisions.prefix(30).allSatisfy { $0["decision"] == "allow" && $0["rule"] == "/tools/alterlab_create_session" })
        #expect(decisions[0]["call"] == 1)
        #expect(decisions[30]["call"] == 31)
        #expect(decisions[30]["decision"] == "deny")
        #expect(decisions[30]["rule"] == "/tools/alterlab_create_session/limits/0")
        #expect(decisions[30]["retry_after"]?.numberValue != nil)
    }

    @Test func evalOfAnotherToolIsDeniedByDefault() async throws {
        let output = try await WardenBinary.run(["policy", "eval", "examples/policies/policylayer.json", "--tool", "other"])
        #expect(output.status == 1)
        #expect(output.stdout == "1 deny (default deny) — tool \"other\" is not allowed by policy\n")
    }

    @Test func evalTakesArgumentsIdentityAndLabels() async throws {
        let allowed = try await WardenBinary.run([
            "policy", "eval", "examples/policies/payments.yaml", "--tool", "create_payment",
            "--args", #"{"amount": 10, "currency": "EUR", "recipient": {"email": "a@example.com"}}"#,
            "--identity", "pay-bot", "--label", "team=payments", "--at", "2026-01-31T12:00:00Z",
        ])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(allowed.stdout.hasPrefix("1 allow /tools/create_payment"))

        let held = try await WardenBinary.run(["policy", "eval", "examples/policies/payments.yaml", "--tool", "refund_payment", "--format", "json"])
        #expect(held.status == 1)
        #expect(try JSONReader.parse(held.stdout)["decision"] == "approval_required")
    }

    @Test func evalShowsShadowDecisionsAsNotEnforced() async throws {
        let policy = try WardenBinary.temporaryFile(
            "shadow.yaml",
            """
            tools:
              git_add: {mode: shadow, action: deny, reason: staging is for people}
            """)
        let output = try await WardenBinary.run([
            "policy", "eval", policy, "--tool", "git_add", "--args", #"{"repo_path": "/srv/app"}"#, "--format", "json",
        ])
        #expect(output.status == 0)
        let decision = try JSONReader.parse(output.stdout)
        #expect(decision["decision"] == "deny")
        #expect(decision["enforced"] == false)
        let text = try await WardenBinary.run(["policy", "eval", policy, "--tool", "git_add", "--args", #"{"repo_path": "/srv/app"}"#])
        #expect(text.stdout.hasPrefix("1 deny (shadow: not enforced) /tools/git_add/action"))
    }

    /// The read-only git example denies every write, enforced: nothing in it is in shadow mode.
    @Test func theGitExampleIsReadOnly() async throws {
        for tool in ["git_commit", "git_add", "git_checkout", "git_create_branch"] {
            let output = try await WardenBinary.run([
                "policy", "eval", "examples/policies/git.yaml", "--tool", tool, "--args", #"{"repo_path": "/srv/app", "message": "x"}"#,
                "--format", "json",
            ])
            #expect(output.status == 1, "\(tool): \(output.stdout)")
            let decision = try JSONReader.parse(output.stdout)
            #expect(decision["decision"] == "deny", "\(tool)")
            #expect(decision["rule"] == .string("/tools/\(tool)/action"))
            #expect(decision["enforced"] == nil, "\(tool) is enforced")
        }
        let read = try await WardenBinary.run(["policy", "eval", "examples/policies/git.yaml", "--tool", "git_log", "--args", #"{"repo_path": "/srv/app"}"#])
        #expect(read.status == 0)
        let check = try await WardenBinary.run(["policy", "check", "examples/policies/git.yaml"])
        #expect(check.status == 0)
        #expect(check.lines == ["examples/policies/git.yaml: ok (11 tools, 11 tests)"], "no warnings")
    }

    @Test func badInputExitsTwoWithAMessage() async throws {
        let missingFile = try await WardenBinary.run(["policy", "eval", "nope.yaml", "--tool", "x"])
        #expect(missingFile.status == 2)
        #expect(missingFile.stderr.contains("error: cannot read nope.yaml: no such file"))

        let badArgs = try await WardenBinary.run(["policy", "eval", "examples/policies/time.yaml", "--tool", "x", "--args", #"{"a":1,"a":2}"#])
        #expect(badArgs.status == 2)
        #expect(badArgs.stderr.contains("--args is not valid JSON: duplicate key"))

        let notObject = try await WardenBinary.run(["policy", "eval", "examples/policies/time.yaml", "--tool", "x", "--args", "[1]"])
        #expect(notObject.status == 2)
        #expect(notObject.stderr.contains("--args must be a JSON object, got array"))

        let missingOption = try await WardenBinary.run(["policy", "eval", "examples/policies/time.yaml"])
        #expect(missingOption.status == 2)
        #expect(missingOption.stderr.contains("--tool"))

        let unknownCommand = try await WardenBinary.run(["policy", "frobnicate"])
        #expect(unknownCommand.status == 2)
    }

    @Test func testRunsTheExamplesAndCasesFiles() async throws {
        for file in ["examples/policies/time.yaml", "examples/policies/payments.yaml", "examples/policies/git.yaml"] {
            let output = try await WardenBinary.run(["policy", "test", file])
            #expect(output.status == 0, "\(file): \(output.stdout)")
            #expect(output.lines.last?.hasSuffix(" passed, 0 failed") == true)
            #expect(output.lines.dropLast().allSatisfy { $0.hasPrefix("PASS  ") })
        }
        let withCases = try await WardenBinary.run([
            "policy", "test", "examples/policies/policylayer.json", "--cases", "examples/cases/policylayer.yaml",
        ])
        #expect(withCases.status == 0)
        #expect(withCases.lines.last == "3 passed, 0 failed")
    }

    @Test func aFailingCaseFailsTheRun() async throws {
        let cases = try WardenBinary.temporaryFile(
            "cases.yaml",
            """
            - {name: passes, tool: get_current_time, args: {timezone: UTC}, expect: allow}
            - {name: fails, tool: get_current_time, args: {timezone: UTC}, repeat: 31, expect: allow}
            """)
        let output = try await WardenBinary.run(["policy", "test", "examples/policies/time.yaml", "--cases", cases, "--format", "json"])
        #expect(output.status == 1)
        let report = try JSONReader.parse(output.stdout)
        #expect(report["passed"] == 6)
        #expect(report["failed"] == 1)
        let failed = report["cases"]?.arrayValue?.first { $0["passed"] == false }
        #expect(failed?["name"] == "fails")
        #expect(failed?["rule"] == "/tools/get_current_time/rate_limit")
    }
}

/// Issue 12: what could make `warden policy check` or `eval` hang, and `policy check`'s report.
@Suite struct PolicyCheckTests {
    /// Long enough for a debug build on a slow machine; the code before the fix took minutes
    /// or never finished on these inputs.
    static let timeout: TimeInterval = 20

    func run(_ arguments: [String]) async throws -> WardenBinary.Output {
        let output = try await WardenBinary.run(arguments, timeout: Self.timeout)
        return try #require(output, "warden \(arguments.prefix(3).joined(separator: " ")) ran past \(Int(Self.timeout)) s")
    }

    @Test func aHostileArgumentCannotHangADecision() async throws {
        let policy = try WardenBinary.temporaryFile(
            "nested.yaml",
            """
            version: "1"
            tools:
              t:
                require: [{path: args.x, op: regex, value: "(a+)+$"}]
            """)
        // ICU needs about 2^n steps for n a's: 5 s for 30 on this machine, hours for 40.
        let hostile = String(repeating: "a", count: 40) + "!"
        let output = try await run(["policy", "eval", policy, "--tool", "t", "--args", "{\"x\": \"\(hostile)\"}"])
        #expect(output.status == 1)
        #expect(output.stdout == "1 deny /tools/t/require/0 — requirement not met: args.x regex \"(a+)+$\"\n")
        let long = String(repeating: "a", count: 100_000) + "!"
        let longer = try await run(["policy", "eval", policy, "--tool", "t", "--args", "{\"x\": \"\(long)\"}"])
        #expect(longer.stdout.hasPrefix("1 deny /tools/t/require/0"))
        let matching = try await run(["policy", "eval", policy, "--tool", "t", "--args", "{\"x\": \"\(long.dropLast())\"}"])
        #expect(matching.status == 0)
        #expect(matching.stdout.hasPrefix("1 allow /tools/t"))
    }

    @Test func nestedQuantifiersAreAWarningNotAnError() async throws {
        let policy = try WardenBinary.temporaryFile(
            "nested.yaml",
            """
            version: "1"
            tools:
              t:
                require: [{path: args.x, op: regex, value: "(a+)+$"}]
                args: {type: object, properties: {y: {type: string, pattern: "^(a|a)*$"}}}
            """)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 0)
        #expect(output.lines.count == 3)
        #expect(output.lines.first == "\(policy): ok (1 tool, 0 tests)")
        #expect(output.lines.dropFirst().first?.hasPrefix("\(policy):4:41: warning: the regular expression \"(a+)+$\" at /tools/t/require/0/value is likely a mistake: it nests quantifiers") == true)
        #expect(output.lines.last?.hasPrefix("\(policy):5:57: warning: the regular expression \"^(a|a)*$\"") == true)
        #expect(output.lines.allSatisfy { !$0.contains("warning") || $0.contains("Warden matches it in linear time") })
        let json = try await JSONReader.parse(try run(["policy", "check", "--format", "json", policy]).stdout)
        let file = try #require(json["files"]?.arrayValue?.first)
        #expect(json["valid"] == true)
        #expect(file["warnings"]?.arrayValue?.count == 2)
        #expect(file["warnings"]?.arrayValue?.first?["pointer"] == "/tools/t/require/0/value")
    }

    @Test func whatOnlyBacktrackingCanDoIsALocatedError() async throws {
        let policy = try WardenBinary.temporaryFile(
            "lookahead.yaml",
            """
            version: "1"
            tools:
              t:
                require: [{path: args.x, op: regex, value: "^(?!admin)"}]
            """)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 2)
        #expect(output.lines == [
            "\(policy):4:41: invalid regular expression \"^(?!admin)\" at /tools/t/require/0/value: negative lookahead (?!...) is not supported: Warden's matcher runs in linear time, which lookaround and atomic groups rule out (character 2 of the pattern)"
        ])
    }

    /// 9 levels of 9 aliases: 9^9 (387 million) nodes from a few hundred bytes.
    static let billionLaughs: String = {
        var lines = [#"a: &a ["x","x","x","x","x","x","x","x","x"]"#]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func aBillionLaughsIsRefused() async throws {
        let policy = try WardenBinary.temporaryFile("laughs.yaml", Self.billionLaughs)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 2)
        #expect(output.lines == [
            "\(policy):1:1: the YAML document has more than 100000 nodes once its aliases are expanded; Warden refuses it (aliases nested inside aliases multiply: a few lines can stand for billions of nodes)"
        ])
        // The gateway configuration is read by the same bounded reader.
        let config = try WardenBinary.temporaryFile("warden.yaml", "version: \"1\"\n" + Self.billionLaughs.replacingOccurrences(of: "a: &a", with: "servers: &a"))
        let checked = try await run(["config", "check", config])
        #expect(checked.status == 2)
        #expect(checked.stdout.contains("more than 100000 nodes once its aliases are expanded"))
    }

    @Test func aliasesWithinTheBoundStillWork() async throws {
        let policy = try WardenBinary.temporaryFile(
            "aliases.yaml",
            """
            version: "1"
            tools:
              a: &rule {rate_limit: {max: 10, window: minute}}
              b: *rule
            """)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 0)
        #expect(output.lines == ["\(policy): ok (2 tools, 0 tests)"])
    }

    /// One line with a long string before many values: each value's column used to be counted
    /// from the start of the line, so checking took time proportional to their product.
    @Test func positionsOnALongLineAreFound() async throws {
        let tools = (0..<2000).map { "\"t\($0)\": {}" }.joined(separator: ", ")
        let text = "{\"description\": \"\(String(repeating: "x", count: 900_000))\", \"tools\": {\(tools)}, \"mode\": \"shadw\"}"
        let policy = try WardenBinary.temporaryFile("long.json", text)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 2)
        let column = text.utf8.count - 15  // the key "mode", in the last 16 bytes
        #expect(output.lines == ["\(policy):1:\(column): unknown value \"shadw\" at /mode; expected one of enforce, shadow — did you mean \"shadow\"?"])
    }

    @Test func aFileOverOneMebibyteIsRefused() async throws {
        let text = "description: \"" + String(repeating: "x", count: 1 << 20) + "\"\n"
        let policy = try WardenBinary.temporaryFile("huge.yaml", text)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 2)
        #expect(output.lines == [
            "\(policy): the file is too large: \(text.utf8.count) bytes, more than the limit of 1048576 bytes (1 MiB)"
        ])
    }

    @Test func aMissingFileIsReportedOnce() async throws {
        let output = try await run(["policy", "check", "nope.yaml", "examples/policies/time.yaml"])
        #expect(output.status == 2)
        #expect(output.lines == ["nope.yaml: cannot read the file: no such file", "examples/policies/time.yaml: ok (2 tools, 5 tests)"])
        #expect(output.stderr.isEmpty)
    }

    @Test func anEmptyFileNamesTheTopLevel() async throws {
        let policy = try WardenBinary.temporaryFile("empty.yaml", "")
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 2)
        #expect(output.lines == ["\(policy): the document is empty: expected an object at the top level"])
        let json = try await JSONReader.parse(try run(["policy", "check", "--format", "json", policy]).stdout)
        #expect(json["files"]?.arrayValue?.first?["problems"]?.arrayValue?.first?["pointer"] == "")
    }

    @Test func problemsAreInLineOrder() async throws {
        let policy = try WardenBinary.temporaryFile(
            "order.yaml",
            """
            tools:
              t: {action: alow}
            version: "2"
            default: denny
            mode: shadw
            """)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 2)
        #expect(output.lines.map { $0.split(separator: ":").dropFirst().prefix(2).joined(separator: ":") } == ["2:7", "3:1", "4:1", "5:1"])
    }

    @Test func aCommaInAFlowMappingGetsAQuotingHint() async throws {
        let policy = try WardenBinary.temporaryFile(
            "comma.yaml",
            """
            tools:
              t:
                deny_if: [{conditions: [{path: args.size, op: gt, value: 10}], on_deny: too big, try again}]
            """)
        let output = try await run(["policy", "check", "--format", "json", policy])
        #expect(output.status == 2)
        let problem = try #require(try JSONReader.parse(output.stdout)["files"]?.arrayValue?.first?["problems"]?.arrayValue?.first)
        #expect(problem["pointer"] == "/tools/t/deny_if/0/try again")
        #expect(problem["message"] == .string(
            "unknown key \"try again\" at /tools/t/deny_if/0: in a YAML flow mapping {...} a comma ends the value before it, so this looks like the rest of that value; quote the string: on_deny: \"too big, try again\""))
        #expect(problem["suggestion"] == nil, "no \"did you mean\": try again is no key")
    }

    @Test func shadowModeThatSwitchesOffAllToolsIsAWarning() async throws {
        let policy = try WardenBinary.temporaryFile(
            "shadow.yaml",
            """
            version: "1"
            all_tools:
              require: [{path: args.repo_path, op: regex, value: "^/srv/"}]
            tools:
              git_status: {}
              git_commit:
                mode: shadow
                deny_if: [{conditions: [{path: args.message, op: exists, value: false}]}]
            """)
        let output = try await run(["policy", "check", policy])
        #expect(output.status == 0)
        #expect(output.lines == [
            "\(policy): ok (2 tools, 0 tests)",
            "\(policy):7:5: warning: tool \"git_commit\" is in shadow mode, which covers the all_tools rules (require) too: a call of it that all_tools would deny is forwarded and only reported, like one its own rules would deny",
        ])
        // What the warning says: the path fence does not hold for git_commit.
        let eval = try await run(["policy", "eval", policy, "--tool", "git_commit", "--args", #"{"repo_path": "/etc", "message": "x"}"#])
        #expect(eval.status == 0)
        #expect(eval.stdout.hasPrefix("1 deny (shadow: not enforced) /all_tools/require/0"))

        let whole = try WardenBinary.temporaryFile("whole.yaml", "mode: shadow\nall_tools: {limits: [{window: minute, max: 5}]}\ntools: {t: {}}\n")
        let wholeOutput = try await run(["policy", "check", whole])
        #expect(wholeOutput.status == 0)
        #expect(wholeOutput.lines.last == "\(whole):1:1: warning: the whole policy is in shadow mode: for every tool without \"mode: enforce\" nothing is enforced, the all_tools rules (limits) included; calls they would deny are forwarded and only reported")
    }
}

/// Argument parsing, in-process.
@Suite struct ParsingTests {
    @Test func evalValidatesItsOptions() {
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["policy", "eval", "p.yaml", "--tool", "t", "--calls", "0"]) }
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["policy", "eval", "p.yaml", "--tool", "t", "--label", "nolabel"]) }
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["policy", "eval", "p.yaml", "--tool", "t", "--at", "yesterday"]) }
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["policy", "eval", "p.yaml", "--tool", "t", "--format", "xml"]) }
    }

    @Test func evalParsesEveryOption() async throws {
        let command = try Warden.parseAsRoot([
            "policy", "eval", "p.yaml", "--tool", "t", "--args", "{}", "--identity", "bob", "--grant", "g", "--label", "a=b",
            "--label", "c=d=e", "--server", "s", "--session", "x", "--calls", "3", "--at", "2026-01-01T00:00:00Z", "--format", "json",
        ])
        let eval = try #require(command as? PolicyCommand.Eval)
        #expect(eval.labels == ["a=b", "c=d=e"])
        #expect(eval.calls == 3)
        #expect(eval.output.format == .json)
    }

    @Test func checkNeedsAFile() {
        #expect(throws: (any Error).self) { try Warden.parseAsRoot(["policy", "check"]) }
    }
}
