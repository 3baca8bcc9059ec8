import Foundation
import Testing
import WardenJSON
import WardenPolicy

/// Issue 12: documents that could keep loading busy for ever, and the loader's report.
@Suite struct LoadingBoundsTests {
    @Test func aliasesExpandingPastTheBoundAreRefused() throws {
        var lines = [#"a: &a ["x","x","x","x","x","x","x","x","x"]"#]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]")
        }
        let started = Date()
        let found = problems(lines.joined(separator: "\n"))
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("the YAML document has more than 100000 nodes once its aliases are expanded") == true)
        #expect(found.first?.position == JSONPosition(line: 1, column: 1))
        // Four levels (6,561 nodes) are within the bound: only the unknown keys are reported.
        #expect(problems(lines.prefix(4).joined(separator: "\n")).allSatisfy { $0.message.hasPrefix("unknown key") })
    }

    @Test func documentsOverOneMebibyteAreRefused() throws {
        let limit = 1 << 20
        let padding = "description: \"" + String(repeating: "x", count: limit) + "\"\n"
        let found = problems(padding)
        #expect(found.map(\.message) == ["the file is too large: \(padding.utf8.count) bytes, more than the limit of 1048576 bytes (1 MiB)"])
        #expect(found.first?.file == "test.yaml")
        let json = "{\"description\": \"" + String(repeating: "x", count: limit - 32) + "\"}"
        #expect(json.utf8.count < limit)
        #expect(problems(json, format: .json).isEmpty)
    }

    /// Many values after a long string on one line: columns are counted in one pass.
    @Test func positionsOnOneLongLineAreLinear() throws {
        let members = (0..<2000).map { "\"t\($0)\": {}" }.joined(separator: ", ")
        let json = "{\"description\": \"\(String(repeating: "é", count: 300_000))\", \"tools\": {\(members), \"bad\": {\"limts\": 1}}}"
        let started = Date()
        let found = problems(json, format: .json)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(found.count == 1)
        // Columns count Unicode scalars: each é is one.
        let before = json.components(separatedBy: "\"limts\"")[0]
        #expect(found.first?.position == JSONPosition(line: 1, column: before.unicodeScalars.count + 1))
        #expect(found.first?.suggestion == "limits")
    }

    @Test func problemsAreInDocumentOrder() {
        let found = problems(
            """
            tools:
              t: {action: alow, limts: []}
            version: "2"
            mode: shadw
            default: denny
            """)
        #expect(found.map { $0.position?.line ?? 0 } == [2, 2, 3, 4, 5])
        #expect(found.map(\.pointer.description).prefix(2) == ["/tools/t/action", "/tools/t/limts"])
    }

    @Test func anEmptyDocumentSaysSo() {
        for (text, format) in [("", PolicyFormat.yaml), ("# only a comment\n", .yaml), ("null", .json)] {
            let found = problems(text, format: format)
            #expect(found.map(\.message) == ["the document is empty: expected an object at the top level"], "\(text)")
        }
        #expect(problems("[]").map(\.message) == ["expected an object at the top level, found array"])
    }

    @Test func aFlowMappingCutAtACommaGetsAQuotingHint() throws {
        let found = problems("tools: {t: {deny_if: [{conditions: [{path: args.x, op: exists}], on_deny: too big, try again}]}}")
        #expect(found.count == 1)
        #expect(found.first?.pointer.description == "/tools/t/deny_if/0/try again")
        #expect(found.first?.message.hasSuffix(#"quote the string: on_deny: "too big, try again""#) == true)
        #expect(found.first?.suggestion == nil)
        // In a block mapping the comma is part of the string; a quoted value is not cut.
        #expect(problems("tools:\n  t:\n    reason: too big, try again\n").isEmpty)
        #expect(problems(#"tools: {t: {reason: "too big", try again}}"#).first?.message == "unknown key \"try again\" at /tools/t")
    }

    /// "did you mean" only ever names a key (or value) that is valid where the mistake is.
    @Test(arguments: [
        ("versoin: \"1\"", ["version", "description", "default", "mode", "hide", "all_tools", "tools", "tests"]),
        ("tools: {t: {Action: deny}}", ["action", "reason", "require", "deny_if", "args", "validate_input", "limits", "rate_limit", "approval", "mode"]),
        ("tools: {t: {limit: []}}", ["limits"]),
        ("tools: {t: {require: [{path: tool, op: regx, value: x}]}}", ["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains"]),
        ("tools: {t: {limits: [{window: minute, max: 1, scop: grant}]}}", ["counter", "window", "max", "scope", "increment_from"]),
        ("tools: {t: {args: {type: object, propertes: {}}}}", ["properties"]),
        ("tools: {t: {require: [{path: identity.nam, op: exists}]}}", ["identity.name"]),
        ("tests: [{tool: t, expect: allow, args: {}, identty: x}]", ["identity"]),
        ("tools: {t: {a: 1}}", []),
        ("tools: {t: {xx: 1}}", []),
    ])
    func suggestionsAreValidWhereTheyAreMade(text: String, valid: [String]) {
        let found = problems(text)
        #expect(found.count == 1, "\(found)")
        if let suggestion = found.first?.suggestion {
            #expect(valid.contains(suggestion), "\(suggestion) for \(text)")
        } else {
            #expect(valid.isEmpty, "expected a suggestion among \(valid) for \(text)")
        }
    }
}
