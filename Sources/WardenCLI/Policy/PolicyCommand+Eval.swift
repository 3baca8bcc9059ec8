import ArgumentParser
import Foundation
import WardenJSON
import WardenPolicy

extension PolicyCommand {
    /// `warden policy eval FILE --tool NAME ...`
    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate calls of one tool against a policy, counting limits in memory.",
            discussion: """
                Makes --calls identical calls at the same instant and prints one line per call. \
                With --format json each line is {"call":i,"decision":"allow|deny|hidden|approval_required",\
                "rule":"...","message":"..."}, plus "enforced":false for shadow-mode decisions and \
                "retry_after" (seconds) for limit denials. Exits 1 if the last call would not be forwarded.
                """
        )

        @Argument(help: "The policy file (JSON or YAML).")
        var file: String

        @Option(help: "The tool to call.")
        var tool: String

        @Option(help: "The call's arguments, a JSON object.")
        var args: String = "{}"

        @Option(help: "The caller's identity name.")
        var identity: String = Identity.local.name

        @Option(help: "The caller's grant id.")
        var grant: String?

        @Option(name: .customLong("label"), help: "An identity label, as key=value (repeatable).")
        var labels: [String] = []

        @Option(help: "The server the call is for.")
        var server: String?

        @Option(help: "The session id.")
        var session: String = "eval"

        @Option(help: "The tool's inputSchema, a JSON object (for validate_input).")
        var inputSchema: String?

        @Option(help: "How many identical calls to make.")
        var calls: Int = 1

        @Option(help: "The instant of the calls, ISO 8601 (default: now).")
        var at: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...1_000_000).contains(calls) else { throw ValidationError("--calls must be from 1 to 1000000.") }
            _ = try LabelOption.parse(labels)
            if let at, (try? Date(at, strategy: .iso8601)) == nil {
                throw ValidationError("--at takes an ISO 8601 time like 2026-01-31T12:00:00Z, got \"\(at)\".")
            }
        }

        func run() async throws {
            let policy = try PolicyFiles.loadPolicy(file)
            let call = try makeCall()
            let now = try at.map { try Date($0, strategy: .iso8601) } ?? Date()
            let enforcer = PolicyEnforcer(policy: policy, ledger: InMemoryCounterLedger())
            var last: Decision?
            for index in 1...calls {
                let decision = try await enforcer.decide(call, now: now)
                print(format(decision, call: index))
                last = decision
            }
            if last?.isForwarded != true { throw ExitCode(1) }
        }

        private func makeCall() throws -> ToolCall {
            let arguments = try jsonObject(args, option: "--args")
            let labelMap = try LabelOption.parse(labels)
            return ToolCall(
                tool: tool,
                arguments: arguments,
                identity: Identity(name: identity, grant: grant, labels: labelMap),
                server: server,
                session: session,
                inputSchema: try inputSchema.map { ArgumentSchema.compile(toolInputSchema: .object(try jsonObject($0, option: "--input-schema"))) }
            )
        }

        private func jsonObject(_ text: String, option: String) throws -> JSONObject {
            let value: JSONValue
            do {
                value = try JSONReader.parse(text)
            } catch {
                throw failure("\(option) is not valid JSON: \(error)")
            }
            guard case .object(let object) = value else {
                throw failure("\(option) must be a JSON object, got \(value.typeName)")
            }
            return object
        }

        private func format(_ decision: Decision, call index: Int) -> String {
            switch output.format {
            case .text:
                let shadow = decision.enforced ? "" : " (shadow: not enforced)"
                return "\(index) \(decision.outcome.rawValue)\(shadow) \(decision.rule) — \(decision.message)"
            case .json:
                var members: [JSONObject.Member] = [
                    .init(key: "call", value: .number(JSONNumber(index))),
                    .init(key: "decision", value: .string(decision.outcome.rawValue)),
                    .init(key: "rule", value: .string(decision.rule.description)),
                    .init(key: "message", value: .string(decision.message)),
                ]
                if !decision.enforced { members.append(.init(key: "enforced", value: false)) }
                if let retryAfter = decision.retryAfterSeconds {
                    members.append(.init(key: "retry_after", value: .number(JSONNumber(retryAfter))))
                }
                return JSONValue.object(JSONObject(members)).description
            }
        }
    }
}
