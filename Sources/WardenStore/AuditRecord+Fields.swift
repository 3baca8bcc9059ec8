import WardenJSON

/// Receives an audit record's fields in their stored order (``AuditRecord/writeFields(time:to:)``).
/// Keys are plain ASCII names that need no escaping.
protocol AuditRecordFields {
    mutating func add(_ key: StaticString, string: String)
    mutating func add(_ key: StaticString, strings: [String])
    /// A number given as its JSON text.
    mutating func add(_ key: StaticString, number: String)
    mutating func add(_ key: StaticString, value: JSONValue)
}

extension AuditRecordFields {
    /// Adds `string` unless it is absent.
    mutating func add(_ key: StaticString, string: String?) {
        if let string { add(key, string: string) }
    }
}

extension AuditRecord {
    /// The one place that names the record's fields and orders them, for both ``json`` and the
    /// stored text (``writeText(time:to:)``); absent fields are left out. The outcome's fields
    /// come between the others, so a draft's text can take them later (``DraftText``).
    /// - Parameter time: ``time`` as `Timestamp.text(of:)` writes it.
    func writeFields(time: String, to fields: inout some AuditRecordFields) {
        writeLeadingFields(time: time, to: &fields)
        writeOutcomeFields(to: &fields)
        writeTrailingFields(to: &fields)
    }

    /// The fields before the call's outcome: what was decided, and about what.
    private func writeLeadingFields(time: String, to fields: inout some AuditRecordFields) {
        fields.add("time", string: time)
        fields.add("request_id", string: requestID)
        fields.add("identity", string: identity)
        fields.add("grant", string: grant)
        fields.add("session", string: session)
        fields.add("server", string: server)
        fields.add("method", string: method)
        fields.add("tool", string: tool)
        fields.add("decision", string: decision)
        fields.add("rule", string: rule)
        fields.add("message", string: message)
        fields.add("argument_keys", strings: argumentKeys)
        fields.add("arguments_hash", string: argumentsHash)
        if let arguments { fields.add("arguments", value: arguments) }
    }

    /// The call's outcome, known once the server answered.
    private func writeOutcomeFields(to fields: inout some AuditRecordFields) {
        fields.add("upstream_status", string: upstreamStatus)
        if let latencyMilliseconds { fields.add("latency_ms", number: Timestamp.milliseconds(latencyMilliseconds)) }
    }

    /// The fields after the outcome.
    private func writeTrailingFields(to fields: inout some AuditRecordFields) {
        fields.add("policy_hash", string: policyHash)
        fields.add("http_request_id", string: httpRequestID)
        fields.add("approval", string: approval)
    }

    /// Appends the record's compact JSON text, as stored and hashed, to `output`: the text
    /// `JSONWriter` writes for ``json``, without building that value first. A record that
    /// still matches the draft it keeps (``keepDraftText()``) splices its outcome into the
    /// draft's text instead of writing every field again.
    /// - Parameter time: ``time`` as `Timestamp.text(of:)` writes it.
    func writeText(time: String, to output: inout [UInt8]) {
        if let draft = draftText, draft.time == time, draft.isDraft(of: self) {
            output.append(contentsOf: draft.bytes[..<draft.outcomeOffset])
            var writer = TextWriter(output: consume output, continuing: true)
            writeOutcomeFields(to: &writer)
            output = writer.output
            output.append(contentsOf: draft.bytes[draft.outcomeOffset...])
            return
        }
        var writer = TextWriter(output: consume output)
        writeFields(time: time, to: &writer)
        output = writer.finish()
    }

    /// ``time`` as records write it (kept with the draft's text, when there is one).
    public var timeText: String {
        if let draft = draftText, draft.record.time == time { return draft.time }
        return Timestamp.text(of: time)
    }

    /// Writes the text of this record, whose call has no outcome yet, and keeps it: the call's
    /// intent and the record that completes it (the same record with ``upstreamStatus`` and
    /// ``latencyMilliseconds`` set) are then written from it, instead of field by field again.
    /// A record changed in any other field after this is written in full, as before.
    public mutating func keepDraftText() {
        keptDraft.text = nil
        // JSON values compare by value, not by their text: a record with arguments is written whole.
        guard upstreamStatus == nil, latencyMilliseconds == nil, arguments == nil else { return }
        let time = Timestamp.text(of: self.time)
        var writer = TextWriter(output: [])
        writer.reserve(1024)
        writeLeadingFields(time: time, to: &writer)
        let outcomeOffset = writer.output.count
        writeTrailingFields(to: &writer)
        keptDraft.text = DraftText(record: self, time: time, bytes: writer.finish(), outcomeOffset: outcomeOffset)
    }

    /// The stored text of a record written before its call's outcome was known
    /// (``keepDraftText()``).
    public final class DraftText: Sendable {
        /// The record it was written from.
        let record: AuditRecord
        /// Its ``AuditRecord/time`` as written.
        let time: String
        /// Its text, with no outcome.
        let bytes: [UInt8]
        /// Where in `bytes` the outcome's fields go.
        let outcomeOffset: Int

        init(record: AuditRecord, time: String, bytes: [UInt8], outcomeOffset: Int) {
            self.record = record
            self.time = time
            self.bytes = bytes
            self.outcomeOffset = outcomeOffset
        }

        /// Whether `other` is the record this text was written from, byte for byte, but for its
        /// outcome (``AuditRecord/upstreamStatus``, ``AuditRecord/latencyMilliseconds``), its
        /// ``AuditRecord/intent`` (never written) and its draft. Every other field is compared:
        /// `AuditDraftTextTests` fails when a field is added to the record and not here.
        func isDraft(of other: AuditRecord) -> Bool {
            func same(_ lhs: String?, _ rhs: String?) -> Bool {
                switch (lhs, rhs) {
                case (nil, nil): true
                case (let lhs?, let rhs?): lhs.hasSameBytes(as: rhs)
                default: false
                }
            }
            return record.time == other.time && other.arguments == nil && same(record.requestID, other.requestID)
                && same(record.identity, other.identity) && same(record.grant, other.grant) && same(record.session, other.session)
                && same(record.server, other.server) && same(record.method, other.method) && same(record.tool, other.tool)
                && same(record.decision, other.decision) && same(record.rule, other.rule) && same(record.message, other.message)
                && record.argumentKeys.count == other.argumentKeys.count
                && zip(record.argumentKeys, other.argumentKeys).allSatisfy { $0.hasSameBytes(as: $1) }
                && same(record.argumentsHash, other.argumentsHash) && same(record.policyHash, other.policyHash)
                && same(record.httpRequestID, other.httpRequestID) && same(record.approval, other.approval)
        }
    }

    /// Holds a record's draft text outside its equality: records that differ only in whether
    /// they kept one are equal.
    struct KeptDraft: Sendable, Equatable {
        var text: DraftText?

        static func == (lhs: KeptDraft, rhs: KeptDraft) -> Bool { true }
    }

    /// Collects the fields as the members of a JSON object.
    struct MemberCollector: AuditRecordFields {
        var members: [JSONObject.Member] = []

        mutating func add(_ key: StaticString, string: String) {
            members.append(.init(key: key.description, value: .string(string)))
        }

        mutating func add(_ key: StaticString, strings: [String]) {
            members.append(.init(key: key.description, value: .array(strings.map(JSONValue.string))))
        }

        mutating func add(_ key: StaticString, number: String) {
            members.append(.init(key: key.description, value: .number(JSONNumber(uncheckedText: number))))
        }

        mutating func add(_ key: StaticString, value: JSONValue) {
            members.append(.init(key: key.description, value: value))
        }
    }

    /// Writes the fields as a compact JSON object's text.
    struct TextWriter: AuditRecordFields {
        private(set) var output: [UInt8]
        private var isEmpty: Bool

        /// - Parameter continuing: Whether `output` already holds the object's first members.
        init(output: consuming [UInt8], continuing: Bool = false) {
            self.output = output
            isEmpty = !continuing
        }

        mutating func reserve(_ capacity: Int) {
            output.reserveCapacity(capacity)
        }

        mutating func add(_ key: StaticString, string: String) {
            write(key)
            JSONWriter.writeString(string, to: &output)
        }

        mutating func add(_ key: StaticString, strings: [String]) {
            write(key)
            output.append(UInt8(ascii: "["))
            for (index, string) in strings.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(string, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }

        mutating func add(_ key: StaticString, number: String) {
            write(key)
            output.append(contentsOf: number.utf8)
        }

        mutating func add(_ key: StaticString, value: JSONValue) {
            write(key)
            JSONWriter.write(value, to: &output)
        }

        /// The output with the object closed.
        consuming func finish() -> [UInt8] {
            if isEmpty { output.append(UInt8(ascii: "{")) }
            output.append(UInt8(ascii: "}"))
            return output
        }

        /// Opens the object or separates the member from the one before, then writes `"key":`.
        private mutating func write(_ key: StaticString) {
            output.append(UInt8(ascii: isEmpty ? "{" : ","))
            isEmpty = false
            output.append(UInt8(ascii: "\""))
            key.withUTF8Buffer { output.append(contentsOf: $0) }
            output.append(UInt8(ascii: "\""))
            output.append(UInt8(ascii: ":"))
        }
    }
}
