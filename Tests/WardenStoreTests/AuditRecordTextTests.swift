import Foundation
import Testing
import WardenJSON

@testable import WardenStore

/// The stored text of a record and its chain hash must never change: `warden audit verify`
/// recomputes both for databases written by every earlier version.
@Suite struct AuditRecordTextTests {
    @Test func writesWhatTheJSONWriterWroteForTheRecordObject() {
        var random = SplitMix64(seed: 7)
        for index in 0..<3000 {
            let record = Self.record(using: &random)
            let expected = JSONWriter.write(Self.referenceJSON(record))
            let row = AuditLog.chain([record], after: .empty)[0]
            #expect(row.recordText == expected, "record \(index)")
            #expect(Array(row.recordText.utf8) == Array(expected.utf8), "record \(index)")
            #expect(row.time == Timestamp.text(of: record.time))
            #expect(JSONWriter.write(record.json) == expected, "record \(index)")
        }
    }

    /// A record read back from its text writes the same text again: every millisecond of a
    /// second survives the round trip through a double.
    @Test func aRecordReadBackWritesItsTimeAsItWasWritten() throws {
        let second = Date(timeIntervalSince1970: 1_796_168_935)
        for millisecond in 0..<1000 {
            let written = AuditRecord(
                time: second.addingTimeInterval(Double(millisecond) / 1000 + 0.0009), identity: "alice", method: "tools/call", decision: "allow")
            let text = JSONWriter.write(written.json)
            let read = try #require(AuditRecord(json: JSONReader.parse(text)))
            #expect(JSONWriter.write(read.json) == text, "millisecond \(millisecond)")
        }
    }

    @Test func chainsToTheSameHashesAsBefore() {
        var random = SplitMix64(seed: 42)
        let records = (0..<200).map { _ in Self.record(using: &random) }
        let rows = AuditLog.chain(records, after: .empty)
        // Computed by the writer and hash this test guards (JSONWriter over `record.json`).
        #expect(rows.last?.hash == "9816bb5c1e8fc1dedc0f470b9124c1c5a0ecf11fa18cb18dd1fdce08f784972e")
        var verifier = AuditLog.Verifier(checkpoints: [])
        for row in rows { #expect(verifier.check(row) == nil) }
        #expect(verifier.finish().head.hash == rows.last?.hash)
    }

    @Test func hashesCanonicalArgumentsAsBefore() {
        #expect(Digest.canonical(["b": 1, "a": ["z": "é\n", "y": [true, nil, .number(JSONNumber("2.5e0")!)]]]) == "acf562318dad5b887f1e3f4a02dbf71933f9c414221a54b416a8f451b1d8da1c")
        #expect(Digest.canonical(["a": 1, "b": 2]) == Digest.canonical(["b": 2, "a": 1]))
        #expect(Digest.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256(Data("abc".utf8)) == Digest.sha256("abc".utf8))
    }

    /// `AuditRecord.json` as it was before records were written straight to text: the
    /// reference the stored text is checked against.
    static func referenceJSON(_ record: AuditRecord) -> JSONValue {
        var members: [JSONObject.Member] = [.init(key: "time", value: .string(Timestamp.text(of: record.time)))]
        func add(_ key: String, _ value: String?) {
            if let value { members.append(.init(key: key, value: .string(value))) }
        }
        add("request_id", record.requestID)
        add("identity", record.identity)
        add("grant", record.grant)
        add("session", record.session)
        add("server", record.server)
        add("method", record.method)
        add("tool", record.tool)
        add("decision", record.decision)
        add("rule", record.rule)
        add("message", record.message)
        members.append(.init(key: "argument_keys", value: .array(record.argumentKeys.map(JSONValue.string))))
        add("arguments_hash", record.argumentsHash)
        if let arguments = record.arguments { members.append(.init(key: "arguments", value: arguments)) }
        add("upstream_status", record.upstreamStatus)
        if let latency = record.latencyMilliseconds {
            members.append(.init(key: "latency_ms", value: .number(JSONNumber(uncheckedText: Timestamp.milliseconds(latency)))))
        }
        add("policy_hash", record.policyHash)
        add("http_request_id", record.httpRequestID)
        add("approval", record.approval)
        return .object(JSONObject(members))
    }

    /// Strings that need escaping, or are not ASCII, or are empty.
    static let samples = [
        "", "alice", "tools/call", "say \"hi\"", "back\\slash", "line\nbreak\r\n", "tab\there", "\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}",
        "é", "e\u{301}", "日本語", "emoji 👩‍👩‍👧 🇫🇷", "\u{2028}\u{2029}", "\u{FEFF}bom", "/tools/0/when", "(default deny)", "a_4f2k9q7m",
    ]

    static func string(using random: inout SplitMix64) -> String {
        (0..<Int.random(in: 1...3, using: &random)).map { _ in samples.randomElement(using: &random)! }.joined()
    }

    static func optional(using random: inout SplitMix64) -> String? {
        Bool.random(using: &random) ? string(using: &random) : nil
    }

    static func record(using random: inout SplitMix64) -> AuditRecord {
        AuditRecord(
            time: Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &random)),
            requestID: optional(using: &random), identity: string(using: &random), grant: optional(using: &random),
            session: optional(using: &random), server: optional(using: &random), method: string(using: &random),
            tool: optional(using: &random), decision: string(using: &random), rule: optional(using: &random),
            message: optional(using: &random),
            argumentKeys: (0..<Int.random(in: 0...4, using: &random)).map { _ in string(using: &random) }.sorted(),
            argumentsHash: optional(using: &random),
            upstreamStatus: optional(using: &random),
            latencyMilliseconds: Bool.random(using: &random) ? Double.random(in: -5..<100_000, using: &random) : nil,
            policyHash: optional(using: &random), httpRequestID: optional(using: &random), approval: optional(using: &random),
            arguments: Bool.random(using: &random) ? value(depth: 0, using: &random) : nil)
    }

    static func value(depth: Int, using random: inout SplitMix64) -> JSONValue {
        let numbers = ["0", "-1", "12.50e3", "1E-7", "123456789012345678901234567890", "-0.0"]
        switch Int.random(in: depth > 2 ? 0...3 : 0...5, using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(JSONNumber(numbers.randomElement(using: &random)!)!)
        case 3: return .string(string(using: &random))
        case 4: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth: depth + 1, using: &random) })
        default:
            return .object(
                JSONObject(
                    (0..<Int.random(in: 0...3, using: &random)).map { _ in
                        JSONObject.Member(key: string(using: &random), value: value(depth: depth + 1, using: &random))
                    }))
        }
    }
}

/// A seeded generator, so the golden hashes above stay put.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
