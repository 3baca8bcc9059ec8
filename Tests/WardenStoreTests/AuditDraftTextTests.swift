import Foundation
import Testing
import WardenJSON

@testable import WardenStore

/// A record whose text was kept before its call's outcome (`keepDraftText()`) must write
/// exactly the text it would write without it: the outcome spliced in, and any other change
/// made afterwards honoured.
@Suite struct AuditDraftTextTests {
    /// The text `record` writes without a kept draft.
    static func fullText(_ record: AuditRecord) -> String {
        JSONWriter.write(AuditRecordTextTests.referenceJSON(record))
    }

    static func text(_ record: AuditRecord) -> String {
        var bytes: [UInt8] = []
        record.writeText(time: record.timeText, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func theOutcomeIsSplicedIntoTheDraftAsIfWrittenWhole() {
        var random = SplitMix64(seed: 11)
        for index in 0..<2000 {
            var record = AuditRecordTextTests.record(using: &random)
            let (status, latency) = (record.upstreamStatus, record.latencyMilliseconds)
            record.upstreamStatus = nil
            record.latencyMilliseconds = nil
            record.keepDraftText()
            #expect((record.draftText != nil) == (record.arguments == nil))
            #expect(Self.text(record) == Self.fullText(record), "draft \(index)")
            record.intent = "an-intent"  // never written
            record.upstreamStatus = status
            record.latencyMilliseconds = latency
            #expect(Self.text(record) == Self.fullText(record), "record \(index)")
            #expect(record.timeText == Timestamp.text(of: record.time))
            #expect(AuditLog.chain([record], after: .empty)[0].recordText == Self.fullText(record), "chained \(index)")
        }
    }

    /// How to change each stored field of a record; the test below fails when the record gains
    /// a field that is not here (and so perhaps not compared with the draft).
    static let changes: [String: @Sendable (inout AuditRecord) -> Void] = [
        "time": { $0.time += 1.5 },
        "requestID": { $0.requestID = "99" },
        "identity": { $0.identity = "mallory" },
        "grant": { $0.grant = "g_other" },
        "session": { $0.session = "other-session" },
        "server": { $0.server = "other" },
        "method": { $0.method = "tools/list" },
        "tool": { $0.tool = "other_tool" },
        "decision": { $0.decision = "deny" },
        "rule": { $0.rule = "/tools/other" },
        "message": { $0.message = "changed" },
        "argumentKeys": { $0.argumentKeys = ["z"] },
        "argumentsHash": { $0.argumentsHash = "0000" },
        "arguments": { $0.arguments = ["changed": true] },
        "upstreamStatus": { $0.upstreamStatus = "tool_error" },
        "latencyMilliseconds": { $0.latencyMilliseconds = 42.5 },
        "policyHash": { $0.policyHash = "ffff" },
        "httpRequestID": { $0.httpRequestID = "req-2" },
        "approval": { $0.approval = "ap_2" },
        "intent": { $0.intent = "another-intent" },
    ]

    @Test func aFieldChangedAfterTheDraftIsWrittenAsChanged() throws {
        var random = SplitMix64(seed: 5)
        var base = AuditRecordTextTests.record(using: &random)
        base.upstreamStatus = nil
        base.latencyMilliseconds = nil
        base.arguments = nil
        base.keepDraftText()
        #expect(base.draftText != nil)
        let stored = Set(Mirror(reflecting: base).children.compactMap(\.label)).subtracting(["keptDraft"])
        #expect(stored == Set(Self.changes.keys), "every stored field of AuditRecord needs a change here")
        for (field, change) in Self.changes {
            var record = base
            change(&record)
            #expect(Self.text(record) == Self.fullText(record), "\(field)")
            #expect(record.timeText == Timestamp.text(of: record.time), "\(field)")
        }
    }

    @Test func aRecordWithAnOutcomeOrArgumentsKeepsNoDraft() {
        var record = AuditRecord(time: Date(), identity: "alice", method: "tools/call", decision: "allow")
        record.upstreamStatus = "ok"
        record.keepDraftText()
        #expect(record.draftText == nil)
        record.upstreamStatus = nil
        record.arguments = ["a": 1]
        record.keepDraftText()
        #expect(record.draftText == nil)
    }

    /// Strings equal to Swift but written differently are not the draft's.
    @Test func aCanonicallyEquivalentChangeIsWrittenAsChanged() {
        var record = AuditRecord(time: Date(), identity: "\u{E9}", method: "tools/call", decision: "allow", message: "caf\u{E9}")
        record.keepDraftText()
        record.message = "cafe\u{301}"
        #expect(record.message == "caf\u{E9}")  // equal to Swift
        #expect(Self.text(record) == Self.fullText(record))
        #expect(Self.text(record).contains("cafe\u{301}"))
    }

    @Test func aKeptDraftDoesNotChangeEquality() {
        let record = AuditRecord(time: Date(), identity: "alice", method: "tools/call", decision: "allow")
        var kept = record
        kept.keepDraftText()
        #expect(kept.draftText != nil)
        #expect(kept == record)
    }
}
