import WardenJSON

/// Classifies a tool from its definition: the verbs of its name, its description, its input
/// schema and its annotations. Annotations are the server's claims: they can raise a risk,
/// never lower it below what the rest shows, and a disagreement is a finding.
///
/// ```swift
/// let verdict = Classifier.classify(ToolDefinition(name: "delete_file"))
/// // verdict.toolClass == .destructive, verdict.risk == .critical
/// ```
public enum Classifier {
    /// The classification of `tool`.
    public static func classify(_ tool: ToolDefinition) -> Classification {
        var reading = Reading(tool: tool)
        reading.readName()
        reading.readDescription()
        reading.readSchema()
        reading.readAnnotations()
        return reading.verdict()
    }
}

/// One classification as it is worked out.
private struct Reading {
    let tool: ToolDefinition
    var toolClass: ToolClass?
    var evidence: [Evidence] = []
    var findings: [Finding] = []
    var notes: [String] = []
    var confidence = 0.3
    var openWorld = false
    var amountField: String?
    /// The class the name's verb gave, before anything else moved it.
    var nameClass: ToolClass?

    init(tool: ToolDefinition) {
        self.tool = tool
    }

    /// Moves the class to `candidate` when it is stronger (or there is none yet).
    mutating func raise(to candidate: ToolClass, _ item: Evidence) {
        evidence.append(item)
        if let current = toolClass, current.weight >= candidate.weight { return }
        toolClass = candidate
    }

    // MARK: Name

    mutating func readName() {
        let words = Vocabulary.words(ofName: tool.name)
        let verbs = words.compactMap(Vocabulary.verbClass)
        // No verb: the description, schema or annotations decide (see readDescription).
        guard let firstVerb = verbs.first else { return }
        let (first, word) = firstVerb
        toolClass = first
        nameClass = first
        confidence = 0.6
        evidence.append(Evidence(.name, first, word))
        // A later verb can make a name stronger, never a read one (`get_deleted_items` reads).
        if first != .read {
            for (later, laterWord) in verbs.dropFirst() where later.weight > (toolClass?.weight ?? 0) && later != .read {
                raise(to: later, Evidence(.name, later, laterWord))
            }
        }
        if toolClass == .write, let noun = words.first(where: Vocabulary.moneyNouns.contains) {
            raise(to: .financial, Evidence(.name, .financial, noun))
        }
    }

    // MARK: Description

    /// Phrases that mark a tool destructive wherever they are in its description.
    static let destructivePhrases = ["permanently", "irreversibl", "cannot be undone", "can't be undone", "force-push", "force push"]
    /// Phrases that mark a tool as running code.
    static let executePhrases = ["arbitrary code", "shell command", "execute a command", "executes a command", "run a command", "runs a command", "arbitrary command", "execute code", "executes code", "run code", "run python", "execute python", "execute sql", "executes sql", "sql query", "sql statement"]

    mutating func readDescription() {
        let text = [tool.title, tool.description].compactMap { $0 }.joined(separator: ". ")
        guard !text.isEmpty else { return }
        let lowered = text.lowercased()
        let firstSentence = lowered.split(whereSeparator: { ".\n".contains($0) }).first.map(String.init) ?? lowered
        let leading = Vocabulary.words(ofText: firstSentence).prefix(12)
        if let leadingVerb = leading.lazy.compactMap(Vocabulary.verbClass).first {
            let (found, word) = leadingVerb
            if let nameClass {
                if found == nameClass {
                    confidence += 0.2
                    evidence.append(Evidence(.description, found, word))
                } else if found.weight > nameClass.weight && found.weight >= ToolClass.execute.weight {
                    raise(to: found, Evidence(.description, found, word))
                    confidence -= 0.1
                } else if found.weight < nameClass.weight {
                    confidence -= 0.1
                }
            } else {
                toolClass = found
                confidence = 0.5
                evidence.append(Evidence(.description, found, word))
            }
        }
        if let phrase = Self.destructivePhrases.first(where: { lowered.contains($0) }) {
            raise(to: .destructive, Evidence(.description, .destructive, phrase))
        }
        if let phrase = Self.executePhrases.first(where: { lowered.contains($0) }) {
            raise(to: .execute, Evidence(.description, .execute, phrase))
        }
        if toolClass == .write || toolClass == nil,
            let noun = Vocabulary.words(ofText: firstSentence).first(where: Vocabulary.moneyNouns.contains),
            Vocabulary.words(ofText: firstSentence).contains(where: { Vocabulary.verbClass($0)?.0 == .write || Vocabulary.verbClass($0)?.0 == .financial })
        {
            raise(to: .financial, Evidence(.description, .financial, noun))
        }
    }

    // MARK: Schema

    mutating func readSchema() {
        guard let schema = tool.inputSchema else { return }
        let fields = Self.fields(of: schema)
        let names = Set(fields.map { $0.name.lowercased() })
        let before = toolClass
        let description = (tool.description ?? "").lowercased()
        // Money.
        if let money = fields.first(where: { Vocabulary.moneyFields.contains($0.name.lowercased()) }) {
            if let current = toolClass, current != .read, current.weight < ToolClass.financial.weight {
                raise(to: .financial, Evidence(.schema, .financial, "field \(money.name)"))
            } else if toolClass == nil {
                raise(to: .financial, Evidence(.schema, .financial, "field \(money.name)"))
            } else if toolClass == .financial {
                evidence.append(Evidence(.schema, .financial, "field \(money.name)"))
            }
        }
        amountField = Self.amountField(in: schema)
        // Code and commands.
        let strongCode: Set<String> = ["command", "cmd", "script", "shell", "sql", "commands", "program"]
        if let code = fields.first(where: { strongCode.contains($0.name.lowercased()) }) {
            raise(to: .execute, Evidence(.schema, .execute, "field \(code.name)"))
        } else if let code = fields.first(where: { Vocabulary.codeFields.contains($0.name.lowercased()) }), toolClass == nil || toolClass == .write || toolClass == .other {
            raise(to: .execute, Evidence(.schema, .execute, "field \(code.name)"))
        } else if let query = fields.first(where: { $0.name.lowercased() == "query" }),
            query.description.lowercased().contains("sql") || description.contains("sql")
        {
            raise(to: .execute, Evidence(.schema, .execute, "field \(query.name) takes SQL"))
        }
        // An operation field whose values destroy (`action: [create, delete]`).
        for field in fields {
            if let word = field.enumValues.lazy.flatMap(Vocabulary.words(ofName:)).first(where: { Vocabulary.verbClass($0)?.0 == .destructive }) {
                raise(to: .destructive, Evidence(.schema, .destructive, "field \(field.name) offers \(word)"))
                break
            }
        }
        // A path with delete in the description.
        let deletes: Set<String> = ["delete", "remove", "erase", "wipe", "purge", "destroy", "unlink", "rm", "rmdir", "shred", "truncate"]
        if let path = fields.first(where: { Vocabulary.pathFields.contains($0.name.lowercased()) }),
            let word = Vocabulary.words(ofText: description).first(where: { Vocabulary.verbClass($0).map { deletes.contains($0.1) } == true })
        {
            raise(to: .destructive, Evidence(.schema, .destructive, "field \(path.name) with \(word)"))
        }
        // A push with a force flag.
        if names.contains("force"), Vocabulary.words(ofName: tool.name).contains("push") {
            raise(to: .destructive, Evidence(.schema, .destructive, "field force on a push"))
        }
        // A URL: a way out to any host.
        if let url = fields.first(where: { Vocabulary.urlFields.contains($0.name.lowercased()) }) {
            openWorld = true
            notes.append("field `\(url.name)` can reach any host")
        }
        if before != nil, before == toolClass, evidence.contains(where: { $0.source == .schema && $0.toolClass == toolClass }) {
            confidence += 0.1
        } else if before == nil, toolClass != nil {
            confidence = 0.5
        }
    }

    struct Field {
        var name: String
        var description: String
        var enumValues: [String]
    }

    /// The properties of a schema, nested objects' and arrays' items' too (to a depth of 4).
    static func fields(of schema: JSONValue, depth: Int = 0) -> [Field] {
        guard depth < 4, let properties = schema["properties"]?.objectValue else {
            if depth < 4, let items = schema["items"] { return fields(of: items, depth: depth + 1) }
            return []
        }
        var fields: [Field] = []
        for member in properties.members {
            let value = member.value
            let values = (value["enum"]?.arrayValue ?? value["items"]?["enum"]?.arrayValue ?? []).compactMap(\.stringValue)
            fields.append(Field(name: member.key, description: value["description"]?.stringValue ?? "", enumValues: values))
            fields += Self.fields(of: value, depth: depth + 1)
        }
        return fields
    }

    /// The top-level numeric money field, if any.
    static func amountField(in schema: JSONValue) -> String? {
        guard let properties = schema["properties"]?.objectValue else { return nil }
        let ordered = ["amount", "amount_cents", "unit_amount", "value_cents", "price", "total", "cost", "fee", "sum"]
        for name in ordered {
            guard let member = properties.members.first(where: { $0.key.lowercased() == name }) else { continue }
            let types: [String] = member.value["type"]?.stringValue.map { [$0] } ?? member.value["type"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if types.contains("number") || types.contains("integer") { return member.key }
        }
        return nil
    }

    // MARK: Annotations

    mutating func readAnnotations() {
        guard let annotations = tool.annotations else { return }
        let readOnly = annotations["readOnlyHint"]?.boolValue
        let destructive = annotations["destructiveHint"]?.boolValue
        if annotations["openWorldHint"]?.boolValue == true {
            openWorld = true
            notes.append("openWorldHint: true")
        }
        let shown = toolClass
        if readOnly == true {
            if let shown, shown != .read {
                let severity: Severity = shown.weight >= ToolClass.execute.weight ? .high : .medium
                findings.append(
                    Finding(
                        check: "annotation-disagreement", severity: severity,
                        message: "The server claims readOnlyHint: true, but the \(evidence.first.map { "\($0.source.rawValue) (`\($0.text)`)" } ?? "definition") says \(shown.rawValue); the claim is ignored.",
                        matched: "readOnlyHint: true", location: "annotations/readOnlyHint"))
                notes.append("readOnlyHint: true disagrees (ignored)")
                confidence -= 0.15
            } else if shown == .read {
                confidence += 0.1
                evidence.append(Evidence(.annotation, .read, "readOnlyHint: true"))
            } else {
                toolClass = .read
                confidence = 0.4
                evidence.append(Evidence(.annotation, .read, "readOnlyHint: true"))
            }
        } else if readOnly == false {
            if shown == .read {
                findings.append(
                    Finding(
                        check: "annotation-disagreement", severity: .low,
                        message: "The server claims readOnlyHint: false (it changes state), but the definition reads like a read; treated as a write.",
                        matched: "readOnlyHint: false", location: "annotations/readOnlyHint"))
                raise(to: .write, Evidence(.annotation, .write, "readOnlyHint: false"))
                confidence -= 0.15
            } else if shown == nil {
                raise(to: .write, Evidence(.annotation, .write, "readOnlyHint: false"))
                confidence = 0.4
            } else {
                confidence += 0.05
            }
        }
        if readOnly != true, destructive == true {
            if shown == .destructive {
                confidence += 0.1
                evidence.append(Evidence(.annotation, .destructive, "destructiveHint: true"))
            } else if shown == nil {
                raise(to: .destructive, Evidence(.annotation, .destructive, "destructiveHint: true"))
                confidence = 0.4
            } else if let shown, shown.weight < ToolClass.destructive.weight {
                raise(to: .destructive, Evidence(.annotation, .destructive, "destructiveHint: true"))
                notes.append("destructiveHint: true raises it")
            }
        } else if destructive == false, toolClass == .destructive {
            findings.append(
                Finding(
                    check: "annotation-disagreement", severity: .high,
                    message: "The server claims destructiveHint: false, but the \(evidence.first.map { "\($0.source.rawValue) (`\($0.text)`)" } ?? "definition") says destructive; the claim is ignored.",
                    matched: "destructiveHint: false", location: "annotations/destructiveHint"))
            notes.append("destructiveHint: false disagrees (ignored)")
            confidence -= 0.15
        }
    }

    // MARK: Verdict

    func verdict() -> Classification {
        let toolClass = self.toolClass ?? .other
        var risk = toolClass.defaultRisk
        if openWorld, risk < .high { risk = risk.raised }
        // Strongest evidence first: the class's own, then the rest.
        let ordered = evidence.filter { $0.toolClass == toolClass } + evidence.filter { $0.toolClass != toolClass }
        var parts = ordered.prefix(4).map(\.summary)
        if parts.isEmpty { parts = ["nothing in the name, description, schema or annotations says what it does"] }
        parts += notes
        let raised = risk > toolClass.defaultRisk ? ", raised" : ""
        let rationale = "\(toolClass.rawValue) (\(risk.rawValue)\(raised)): " + parts.joined(separator: "; ")
        let rounded = (min(max(confidence, 0.1), 0.95) * 100).rounded() / 100
        return Classification(
            toolClass: toolClass, risk: risk, rationale: rationale, confidence: rounded, evidence: ordered, findings: findings,
            openWorld: openWorld, amountField: amountField)
    }
}
