import ArgumentParser
import WardenJSON
import WardenPolicy

extension PolicyCommand {
    /// `warden policy check FILE...`
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate policy files and report every problem in them.",
            discussion: "Exits 0 when every file is valid, 2 when any is not (or cannot be read)."
        )

        @Argument(help: "Policy files (JSON or YAML).")
        var files: [String]

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if files.isEmpty { throw ValidationError("Name at least one policy file.") }
        }

        func run() async throws {
            var reports: [JSONValue] = []
            var allValid = true
            for file in files {
                let problems: [PolicyProblem]
                var summary: Policy?
                do {
                    summary = try PolicyLoader.load(PolicyFiles.read(file), file: file)
                    problems = []
                } catch let error as PolicyLoadError {
                    problems = error.problems
                } catch {
                    problems = [PolicyProblem(file: file, pointer: .root, message: "cannot read \(file)")]
                }
                allValid = allValid && problems.isEmpty
                switch output.format {
                case .text:
                    if let summary {
                        print("\(file): ok (\(Self.count(summary.tools.count, "tool")), \(Self.count(summary.tests.count, "test")))")
                    }
                    problems.forEach { print($0.description) }
                case .json:
                    reports.append([
                        "file": .string(file),
                        "valid": .bool(problems.isEmpty),
                        "problems": .array(problems.map(Self.json)),
                    ])
                }
            }
            if output.format == .json {
                print(JSONValue.object(JSONObject([.init(key: "valid", value: .bool(allValid)), .init(key: "files", value: .array(reports))])))
            }
            if !allValid { throw ExitCode(2) }
        }

        static func count(_ number: Int, _ noun: String) -> String {
            "\(number) \(noun)\(number == 1 ? "" : "s")"
        }

        static func json(_ problem: PolicyProblem) -> JSONValue {
            var members: [JSONObject.Member] = [.init(key: "pointer", value: .string(problem.pointer.description))]
            if let position = problem.position {
                members.append(.init(key: "line", value: .number(JSONNumber(position.line))))
                members.append(.init(key: "column", value: .number(JSONNumber(position.column))))
            }
            members.append(.init(key: "message", value: .string(problem.message)))
            if let suggestion = problem.suggestion {
                members.append(.init(key: "suggestion", value: .string(suggestion)))
            }
            return .object(JSONObject(members))
        }
    }
}
