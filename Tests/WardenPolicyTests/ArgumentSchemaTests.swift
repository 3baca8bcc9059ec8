import Testing
import WardenJSON
import WardenPolicy

@Suite struct ArgumentSchemaTests {
    static let policy = """
        tools:
          t:
            args:
              type: object
              required: [name]
              additionalProperties: false
              properties:
                name: {type: string, minLength: 2, maxLength: 5, pattern: "^[a-z]+$"}
                count: {type: integer, minimum: 1, maximum: 10}
                ratio: {type: number, exclusiveMinimum: 0, exclusiveMaximum: 1}
                mode: {enum: [fast, slow]}
                kind: {const: widget}
                tags: {type: array, minItems: 1, maxItems: 2, items: {type: string}}
                note: {type: [string, "null"], title: Note, description: free text}
                meta: {type: object, additionalProperties: {type: number}}
        """

    func check(_ arguments: String) throws -> Decision {
        evaluate(try loadYAML(Self.policy), try call("t", arguments))
    }

    @Test func validArgumentsPass() throws {
        let decision = try check(
            #"{"name": "abc", "count": 3.0, "ratio": 0.5, "mode": "fast", "kind": "widget", "tags": ["x"], "note": null, "meta": {"a": 1}}"#)
        #expect(decision.outcome == .allow, "\(decision.message)")
    }

    @Test(arguments: [
        (#"{}"#, "/tools/t/args/required", "arguments is missing the required property \"name\""),
        (#"{"name": 5}"#, "/tools/t/args/properties/name/type", "/name must be of type string"),
        (#"{"name": "a"}"#, "/tools/t/args/properties/name/minLength", "/name must be at least 2 characters long"),
        (#"{"name": "abcdef"}"#, "/tools/t/args/properties/name/maxLength", "/name must be at most 5 characters long"),
        (#"{"name": "ABC"}"#, "/tools/t/args/properties/name/pattern", "/name must match the pattern \"^[a-z]+$\""),
        (#"{"name": "ab", "count": 1.5}"#, "/tools/t/args/properties/count/type", "/count must be of type integer"),
        (#"{"name": "ab", "count": 0}"#, "/tools/t/args/properties/count/minimum", "/count must be >= 1"),
        (#"{"name": "ab", "count": 11}"#, "/tools/t/args/properties/count/maximum", "/count must be <= 10"),
        (#"{"name": "ab", "ratio": 0}"#, "/tools/t/args/properties/ratio/exclusiveMinimum", "/ratio must be > 0"),
        (#"{"name": "ab", "ratio": 1.0}"#, "/tools/t/args/properties/ratio/exclusiveMaximum", "/ratio must be < 1"),
        (#"{"name": "ab", "mode": "medium"}"#, "/tools/t/args/properties/mode/enum", "/mode must be one of [\"fast\",\"slow\"]"),
        (#"{"name": "ab", "kind": "gadget"}"#, "/tools/t/args/properties/kind/const", "/kind must be \"widget\""),
        (#"{"name": "ab", "tags": []}"#, "/tools/t/args/properties/tags/minItems", "/tags must have at least 1 items"),
        (#"{"name": "ab", "tags": ["a", "b", "c"]}"#, "/tools/t/args/properties/tags/maxItems", "/tags must have at most 2 items"),
        (#"{"name": "ab", "tags": ["a", 2]}"#, "/tools/t/args/properties/tags/items/type", "/tags/1 must be of type string"),
        (#"{"name": "ab", "extra": 1}"#, "/tools/t/args/additionalProperties", "arguments has an unexpected property \"extra\""),
        (#"{"name": "ab", "meta": {"x": "y"}}"#, "/tools/t/args/properties/meta/additionalProperties/type", "/meta/x must be of type number"),
        (#"{"name": "ab", "note": 3}"#, "/tools/t/args/properties/note/type", "/note must be of type string or null"),
    ])
    func violationsNameTheKeywordAndThePlace(arguments: String, rule: String, message: String) throws {
        let decision = try check(arguments)
        #expect(decision.outcome == .deny)
        #expect(decision.rule.description == rule)
        #expect(decision.message == "invalid arguments: " + message)
    }

    @Test func lengthCountsCodePoints() throws {
        #expect(try check(#"{"name": "ab", "note": "x"}"#).outcome == .allow)
        let policy = try loadYAML("tools:\n  t:\n    args: {properties: {s: {maxLength: 2}}}\n")
        #expect(evaluate(policy, try call("t", #"{"s": "éé"}"#)).outcome == .allow)
        #expect(evaluate(policy, try call("t", #"{"s": "ééé"}"#)).outcome == .deny)
    }

    @Test func unknownSchemaKeywordsAreErrorsInPolicies() {
        let found = problems("tools:\n  t:\n    args: {type: object, propertys: {}}\n")
        #expect(found.count == 1)
        #expect(found.first?.suggestion == "properties")
        #expect(!problems("tools:\n  t:\n    args: {type: text}\n").isEmpty)
    }

    @Test func validateInputEnforcesTheToolsOwnSchemaLeniently() throws {
        let policy = try loadYAML("tools:\n  t: {validate_input: true}\n")
        var theCall = try call("t", #"{"city": 5}"#)
        let unknown = evaluate(policy, theCall)
        #expect(unknown.outcome == .deny)
        #expect(unknown.rule.description == "/tools/t/validate_input")
        #expect(unknown.message.contains("input schema"))

        let inputSchema = try JSONReader.parse(
            #"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["city"], "properties": {"city": {"type": "string", "format": "city"}}, "exclusiveMinimum": true}"#
        )
        theCall.inputSchema = ArgumentSchema.compile(toolInputSchema: inputSchema)
        let invalid = evaluate(policy, theCall)
        #expect(invalid.outcome == .deny)
        #expect(invalid.message == "invalid arguments: /city must be of type string")
        theCall.arguments = try JSONReader.parse(#"{"city": "Oslo"}"#).objectValue!
        #expect(evaluate(policy, theCall).outcome == .allow)
    }
}
