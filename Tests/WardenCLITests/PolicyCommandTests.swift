import ArgumentParser
import Foundation
import Testing
import WardenJSON

@testable import WardenCLI

/// `warden policy ...` run as a user would, through the built binary.
@Suite struct PolicyCommandTests {
    @Test func versionAndHelp() throws {
        let version = try WardenBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Warden.version)
        for command in [["--help"], ["policy", "--help"], ["policy", "check", "--help"], ["policy", "eval", "--help"], ["policy", "test", "--help"]] {
            let help = try WardenBinary.run(command)
            #expect(help.status == 0, "\(command)")
            #expect(help.stdout.contains("USAGE"), "\(command)")
        }
    }

    @Test func checkAcceptsTheExamples() throws {
        let output = try WardenBinary.run(["policy", "check", "examples/policies/policylayer.json", "examples/policies/time.yaml"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.lines == [
            "examples/policies/policylayer.json: ok (1 tool, 0 tests)",
            "examples/policies/time.yaml: ok (2 tools, 5 tests)",
        ])
    }

    @Test func checkReportsEveryProblemWithPositionAndSuggestion() throws {
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
        let text = try WardenBinary.run(["policy", "check", file])
        #expect(text.status == 2)
        #expect(text.lines == [
            "\(file):4:5: unknown key \"limts\" at /tools/transfer — did you mean \"limits\"?",
            "\(file):6:27: unknown value \"minut\" at /tools/search/rate_limit/window; expected second, minute, hour, day or a number of seconds — did you mean \"minute\"?",
        ])

        let json = try WardenBinary.run(["policy", "check", "--format", "json", file])
        #expect(json.status == 2)
        let report = try JSONReader.parse(json.stdout)
        #expect(report["valid"] == false)
        let problem = try #require(report["files"]?.arrayValue?.first?["problems"]?.arrayValue?.first)
        #expect(problem["pointer"] == "/tools/transfer/limts")
        #expect(problem["line"] == 4)
        #expect(problem["column"] == 5)
        #expect(problem["suggestion"] == "limits")
    }

    @Test func evalCountsLimitsAcrossCalls() throws {
        let output = try WardenBinary.run([
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

    @Test func evalOfAnotherToolIsDeniedByDefault() throws {
        let output = try WardenBinary.run(["policy", "eval", "examples/policies/policylayer.json", "--tool", "other"])
        #expect(output.status == 1)
        #expect(output.stdout == "1 deny (default deny) — tool \"other\" is not allowed by policy\n")
    }

    @Test func evalTakesArgumentsIdentityAndLabels() throws {
        let allowed = try WardenBinary.run([
            "policy", "eval", "examples/policies/payments.yaml", "--tool", "create_payment",
            "--args", #"{"amount": 10, "currency": "EUR", "recipient": {"email": "a@example.com"}}"#,
            "--identity", "pay-bot", "--label", "team=payments", "--at", "2026-01-31T12:00:00Z",
        ])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(allowed.stdout.hasPrefix("1 allow /tools/create_payment"))

        let held = try WardenBinary.run(["policy", "eval", "examples/policies/payments.yaml", "--tool", "refund_payment", "--format", "json"])
        #expect(held.status == 1)
        #expect(try JSONReader.parse(held.stdout)["decision"] == "approval_required")
    }

    @Test func evalShowsShadowDecisionsAsNotEnforced() throws {
        let output = try WardenBinary.run([
            "policy", "eval", "examples/policies/git.yaml", "--tool", "git_add", "--args", #"{"repo_path": "/srv/app"}"#, "--format", "json",
        ])
        #expect(output.status == 0)
        let decision = try JSONReader.parse(output.stdout)
        #expect(decision["decision"] == "deny")
        #expect(decision["enforced"] == false)
        let text = try WardenBinary.run(["policy", "eval", "examples/policies/git.yaml", "--tool", "git_add", "--args", #"{"repo_path": "/srv/app"}"#])
        #expect(text.stdout.hasPrefix("1 deny (shadow: not enforced) /tools/git_add/action"))
    }

    @Test func badInputExitsTwoWithAMessage() throws {
        let missingFile = try WardenBinary.run(["policy", "eval", "nope.yaml", "--tool", "x"])
        #expect(missingFile.status == 2)
        #expect(missingFile.stderr.contains("error: cannot read nope.yaml: no such file"))

        let badArgs = try WardenBinary.run(["policy", "eval", "examples/policies/time.yaml", "--tool", "x", "--args", #"{"a":1,"a":2}"#])
        #expect(badArgs.status == 2)
        #expect(badArgs.stderr.contains("--args is not valid JSON: duplicate key"))

        let notObject = try WardenBinary.run(["policy", "eval", "examples/policies/time.yaml", "--tool", "x", "--args", "[1]"])
        #expect(notObject.status == 2)
        #expect(notObject.stderr.contains("--args must be a JSON object, got array"))

        let missingOption = try WardenBinary.run(["policy", "eval", "examples/policies/time.yaml"])
        #expect(missingOption.status == 2)
        #expect(missingOption.stderr.contains("--tool"))

        let unknownCommand = try WardenBinary.run(["policy", "frobnicate"])
        #expect(unknownCommand.status == 2)
    }

    @Test func testRunsTheExamplesAndCasesFiles() throws {
        for file in ["examples/policies/time.yaml", "examples/policies/payments.yaml", "examples/policies/git.yaml"] {
            let output = try WardenBinary.run(["policy", "test", file])
            #expect(output.status == 0, "\(file): \(output.stdout)")
            #expect(output.lines.last?.hasSuffix(" passed, 0 failed") == true)
            #expect(output.lines.dropLast().allSatisfy { $0.hasPrefix("PASS  ") })
        }
        let withCases = try WardenBinary.run([
            "policy", "test", "examples/policies/policylayer.json", "--cases", "examples/cases/policylayer.yaml",
        ])
        #expect(withCases.status == 0)
        #expect(withCases.lines.last == "3 passed, 0 failed")
    }

    @Test func aFailingCaseFailsTheRun() throws {
        let cases = try WardenBinary.temporaryFile(
            "cases.yaml",
            """
            - {name: passes, tool: get_current_time, args: {timezone: UTC}, expect: allow}
            - {name: fails, tool: get_current_time, args: {timezone: UTC}, repeat: 31, expect: allow}
            """)
        let output = try WardenBinary.run(["policy", "test", "examples/policies/time.yaml", "--cases", cases, "--format", "json"])
        #expect(output.status == 1)
        let report = try JSONReader.parse(output.stdout)
        #expect(report["passed"] == 6)
        #expect(report["failed"] == 1)
        let failed = report["cases"]?.arrayValue?.first { $0["passed"] == false }
        #expect(failed?["name"] == "fails")
        #expect(failed?["rule"] == "/tools/get_current_time/rate_limit")
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

    @Test func evalParsesEveryOption() throws {
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
