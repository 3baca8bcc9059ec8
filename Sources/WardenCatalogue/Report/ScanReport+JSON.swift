public import WardenJSON

extension ScanReport {
    /// The report as one JSON object:
    /// `{"server": {"name", "version"}, "target", "grade", "summary", "tools": [...], "findings", "resources", "prompts", "truncated"}`.
    /// Each tool: `name`, `class`, `risk`, `rationale`, `confidence`, `findings`, `sha256`
    /// (``ToolDefinition/fingerprint``), `evidence`, and the definition's `title`, `description`,
    /// `annotations`, `inputSchema` and `outputSchema` where given.
    public var json: JSONValue {
        var object = JSONObject()
        var server = JSONObject()
        server.set("name", to: self.server.name.map(JSONValue.string) ?? .null)
        server.set("version", to: self.server.version.map(JSONValue.string) ?? .null)
        object.set("server", to: .object(server))
        if let target { object.set("target", to: .string(target)) }
        object.set("grade", to: .string(grade.rawValue))
        object.set("summary", to: summaryJSON)
        object.set("tools", to: .array(tools.map(\.json)))
        object.set("findings", to: .array(serverFindings.map(\.json)))
        object.set("resources", to: .array(resources))
        object.set("prompts", to: .array(prompts))
        if !truncated.isEmpty { object.set("truncated", to: .array(truncated.map(JSONValue.string))) }
        if !warnings.isEmpty { object.set("warnings", to: .array(warnings.map(JSONValue.string))) }
        return .object(object)
    }

    /// `{"tools": N, "classes": {...}, "risks": {...}, "findings": {...}}`: counts by class, risk and severity.
    public var summaryJSON: JSONValue {
        var object = JSONObject()
        object.set("tools", to: .number(JSONNumber(tools.count)))
        object.set("classes", to: Self.counts(ToolClass.allCases.map(\.rawValue), tools.map(\.classification.toolClass.rawValue)))
        object.set("risks", to: Self.counts(Risk.allCases.map(\.rawValue), tools.map(\.classification.risk.rawValue)))
        object.set("findings", to: Self.counts(Severity.allCases.reversed().map(\.rawValue), allFindings.map(\.severity.rawValue)))
        object.set("resources", to: .number(JSONNumber(resources.count)))
        object.set("prompts", to: .number(JSONNumber(prompts.count)))
        return .object(object)
    }

    private static func counts(_ keys: [String], _ values: [String]) -> JSONValue {
        var object = JSONObject()
        for key in keys { object.set(key, to: .number(JSONNumber(values.count { $0 == key }))) }
        return .object(object)
    }
}

extension ScanReport.Tool {
    var json: JSONValue {
        var object = JSONObject()
        object.set("name", to: .string(name))
        object.set("class", to: .string(classification.toolClass.rawValue))
        object.set("risk", to: .string(classification.risk.rawValue))
        object.set("rationale", to: .string(classification.rationale))
        object.set("confidence", to: .number(JSONNumber(uncheckedText: String(format2: classification.confidence))))
        object.set("findings", to: .array(findings.map(\.json)))
        object.set("sha256", to: .string(definition.fingerprint))
        object.set(
            "evidence",
            to: .array(classification.evidence.map { ["source": .string($0.source.rawValue), "class": .string($0.toolClass.rawValue), "text": .string($0.text)] }))
        // The definition's parts, each only when the server gave it: `ToolDefinition(listEntry:)`
        // on this object gives back the same definition, and so the same fingerprint.
        if let title = definition.title { object.set("title", to: .string(title)) }
        if let description = definition.description { object.set("description", to: .string(description)) }
        if let annotations = definition.annotations { object.set("annotations", to: .object(annotations)) }
        if let input = definition.inputSchema { object.set("inputSchema", to: input) }
        if let output = definition.outputSchema { object.set("outputSchema", to: output) }
        return .object(object)
    }
}

extension Finding {
    /// `{"check", "severity", "message", "matched", "location"}`.
    public var json: JSONValue {
        [
            "check": .string(check), "severity": .string(severity.rawValue), "message": .string(message),
            "matched": .string(matched), "location": .string(location),
        ]
    }
}

extension String {
    /// A number in [0, 1] with at most two decimals, as JSON writes it (`0.8`, `0.65`, `1`).
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        if hundredths % 100 == 0 {
            self = String(hundredths / 100)
        } else if hundredths % 10 == 0 {
            self = "\(hundredths / 100).\(hundredths % 100 / 10)"
        } else {
            self = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
        }
    }
}
