import Foundation
import WardenJSON

extension DocumentDecoder {
    static let testCaseKeys = [
        "name", "tool", "args", "identity", "grant", "labels", "server", "session", "input_schema", "repeat", "at", "expect",
        "rule",
    ]

    /// Decodes a list of test cases (`tests:` in a policy, or a cases file).
    mutating func decodeTestCases(_ value: JSONValue, at pointer: JSONPointer) -> [PolicyTestCase] {
        guard let entries = array(value, at: pointer) else { return [] }
        return entries.enumerated().compactMap { decodeTestCase($1, at: pointer.appending($0)) }
    }

    mutating func decodeTestCase(_ value: JSONValue, at pointer: JSONPointer) -> PolicyTestCase? {
        guard let object = object(value, at: pointer, keys: Self.testCaseKeys, required: ["tool", "expect"]),
            let toolValue = object["tool"], let expectValue = object["expect"],
            let tool = string(toolValue, at: pointer.appending("tool")),
            let expected = choice(expectValue, at: pointer.appending("expect"), as: Decision.Outcome.self)
        else { return nil }
        func optionalString(_ key: String) -> String? {
            object[key].flatMap { string($0, at: pointer.appending(key)) }
        }
        var arguments = JSONObject()
        if let value = object["args"] {
            if case .object(let given) = value {
                arguments = given
            } else {
                report("expected an object at \(pointer.appending("args")), found \(value.typeName)", at: pointer.appending("args"))
            }
        }
        let identity = Identity(
            name: optionalString("identity") ?? Identity.local.name,
            grant: optionalString("grant"),
            labels: object["labels"].flatMap { stringMap($0, at: pointer.appending("labels")) } ?? [:]
        )
        let call = ToolCall(
            tool: tool,
            arguments: arguments,
            identity: identity,
            server: optionalString("server"),
            session: optionalString("session"),
            inputSchema: object["input_schema"].flatMap { value in
                namedEntries(value, at: pointer.appending("input_schema")).map { ArgumentSchema.compile(toolInputSchema: .object($0)) }
            }
        )
        let repeatCount = object["repeat"].flatMap { integer($0, at: pointer.appending("repeat"), in: 1...1_000_000) } ?? 1
        var instant: Date?
        if let text = optionalString("at") {
            instant = try? Date(text, strategy: .iso8601)
            if instant == nil {
                report("expected an ISO 8601 time like 2026-01-31T12:00:00Z at \(pointer.appending("at"))", at: pointer.appending("at"))
            }
        }
        return PolicyTestCase(
            name: optionalString("name") ?? pointer.description,
            pointer: pointer,
            file: file,
            call: call,
            repeatCount: repeatCount,
            at: instant,
            expectedOutcome: expected,
            expectedRule: optionalString("rule")
        )
    }
}
