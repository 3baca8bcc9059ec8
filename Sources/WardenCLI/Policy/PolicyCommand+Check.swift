import ArgumentParser
import Foundation
import WardenJSON
import WardenPolicy

extension PolicyCommand {
    /// `warden policy check FILE...`
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate policy files and report every problem in them.",
            discussion: """
                Reports each file's problems in document order, and warnings about what loads but is \
                likely a mistake. Exits 0 when every file is valid (warnings or not), 2 when any is \
                not (or cannot be read).
                """
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
                var problems: [PolicyProblem] = []
                var warnings: [PolicyProblem] = []
                var summary: Policy?
                do {
                    let policy = try PolicyLoader.load(Self.read(file), file: file)
                    summary = policy
                    warnings = policy.warnings
                } catch let error as PolicyLoadError {
                    problems = error.problems
                    warnings = error.warnings
                } catch {
                    problems = [PolicyProblem(file: file, pointer: .root, message: "\(error)")]
                }
                allValid = allValid && problems.isEmpty
                switch output.format {
                case .text:
                    if let summary {
                        print("\(file): ok (\(Self.count(summary.tools.count, "tool")), \(Self.count(summary.tests.count, "test")))")
                    }
                    PolicyProblem.inDocumentOrder(problems + warnings).forEach { print($0.description) }
                case .json:
                    reports.append([
                        "file": .string(file),
                        "valid": .bool(problems.isEmpty),
                        "problems": .array(problems.map(Self.json)),
                        "warnings": .array(warnings.map(Self.json)),
                    ])
                }
            }
            if output.format == .json {
                print(JSONValue.object(JSONObject([.init(key: "valid", value: .bool(allValid)), .init(key: "files", value: .array(reports))])))
            }
            if !allValid { throw ExitCode(2) }
        }

        /// Why a file cannot be read, said once, as the file's problem.
        struct ReadFailure: Error, CustomStringConvertible {
            var description: String
        }

        /// The bytes of `path`.
        static func read(_ path: String) throws -> Data {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ReadFailure(description: "cannot read the file: no such file")
            }
            guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
                throw ReadFailure(description: "cannot read the file: permission denied or not a regular file")
            }
            return data
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
