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
    /// stored text (``writeText(time:to:)``); absent fields are left out.
    /// - Parameter time: ``time`` as `Timestamp.text(of:)` writes it.
    func writeFields(time: String, to fields: inout some AuditRecordFields) {
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
        fields.add("upstream_status", string: upstreamStatus)
        if let latencyMilliseconds { fields.add("latency_ms", number: Timestamp.milliseconds(latencyMilliseconds)) }
        fields.add("policy_hash", string: policyHash)
        fields.add("http_request_id", string: httpRequestID)
        fields.add("approval", string: approval)
    }

    /// Appends the record's compact JSON text, as stored and hashed, to `output`: the text
    /// `JSONWriter` writes for ``json``, without building that value first.
    /// - Parameter time: ``time`` as `Timestamp.text(of:)` writes it.
    func writeText(time: String, to output: inout [UInt8]) {
        var writer = TextWriter(output: consume output)
        writeFields(time: time, to: &writer)
        output = writer.finish()
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
        private var output: [UInt8]
        private var isEmpty = true

        init(output: consuming [UInt8]) {
            self.output = output
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
