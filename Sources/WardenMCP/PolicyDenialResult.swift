public import WardenJSON
public import WardenPolicy

/// What the agent sees when a visible tool is refused: a normal tool result with
/// `isError: true`, a `[POLICY DENIED]` text it can read, and a structured copy under `_meta`.
public enum PolicyDenialResult {
    /// The key of the structured copy under `_meta`.
    public static let metaKey = "warden/decision"

    /// The text shown to the agent: `[POLICY DENIED] <reason> (rule /tools/x/deny_if/0)`.
    public static func text(for decision: Decision) -> String {
        "[POLICY DENIED] \(decision.message) (rule \(decision.rule))"
    }

    /// The bytes of the JSON-RPC response carrying the denial (no trailing newline).
    public static func response(id: JSONValue, decision: Decision) -> [UInt8] {
        var meta: [JSONObject.Member] = [
            .init(key: "decision", value: .string(decision.outcome.rawValue)),
            .init(key: "rule", value: .string(decision.rule.description)),
            .init(key: "message", value: .string(decision.message)),
        ]
        if let retryAfter = decision.retryAfterSeconds {
            meta.append(.init(key: "retryAfterSeconds", value: .number(JSONNumber(retryAfter))))
        }
        let result: JSONValue = [
            "content": [["type": "text", "text": .string(text(for: decision))]],
            "isError": true,
            "_meta": [metaKey: .object(JSONObject(meta))],
        ]
        var bytes: [UInt8] = []
        JSONWriter.write(["jsonrpc": "2.0", "id": id, "result": result], to: &bytes)
        return bytes
    }
}
