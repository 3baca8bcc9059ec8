import ArgumentParser
import WardenJSON
import WardenPolicy

extension PolicyCommand {
    /// `warden policy test FILE [--cases CASES]`
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a policy's test cases and report each like a test runner.",
            discussion: """
                Runs the cases under `tests:` in the policy, then those in --cases files. Each case \
                starts from empty counters and checks the decision of its last call. Exits 1 if any \
                case fails, 2 if the files are invalid.
                """
        )

        @Argument(help: "The policy file (JSON or YAML).")
        var file: String

        @Option(name: .customLong("cases"), help: "A file of test cases (repeatable).")
        var caseFiles: [String] = []

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let policy = try PolicyFiles.loadPolicy(file)
            var cases = policy.tests
            for caseFile in caseFiles {
                cases += try PolicyFiles.loadTestCases(caseFile)
            }
            let results = await PolicyTestRunner.run(cases, against: policy)
            let failed = results.filter { !$0.passed }.count
            switch output.format {
            case .text:
                for result in results {
                    let place = "\(result.testCase.file ?? file) \(result.testCase.pointer)"
                    if let failure = result.failure {
                        print("FAIL  \(result.testCase.name) (\(place)): \(failure)")
                    } else {
                        print("PASS  \(result.testCase.name) (\(place))")
                    }
                }
                if cases.isEmpty {
                    printError("warning: \(file) has no test cases; add `tests:` to it or pass --cases")
                }
                print("\(results.count - failed) passed, \(failed) failed")
            case .json:
                let report: JSONValue = [
                    "passed": .number(JSONNumber(results.count - failed)),
                    "failed": .number(JSONNumber(failed)),
                    "cases": .array(results.map(Self.json)),
                ]
                print(report)
            }
            if failed > 0 { throw ExitCode(1) }
        }

        static func json(_ result: PolicyTestResult) -> JSONValue {
            var members: [JSONObject.Member] = [
                .init(key: "name", value: .string(result.testCase.name)),
                .init(key: "pointer", value: .string(result.testCase.pointer.description)),
                .init(key: "passed", value: .bool(result.passed)),
                .init(key: "decision", value: .string(result.decision.outcome.rawValue)),
                .init(key: "rule", value: .string(result.decision.rule.description)),
                .init(key: "message", value: .string(result.decision.message)),
            ]
            if let file = result.testCase.file { members.insert(.init(key: "file", value: .string(file)), at: 1) }
            if let failure = result.failure { members.append(.init(key: "failure", value: .string(failure))) }
            return .object(JSONObject(members))
        }
    }
}
