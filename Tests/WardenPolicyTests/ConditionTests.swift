import Testing
import WardenJSON
import WardenPolicy

@Suite struct ConditionTests {
    /// A policy whose one tool is denied when the condition holds.
    func holds(_ condition: String, _ arguments: String = "{}", identity: Identity? = nil) throws -> Bool {
        let policy = try loadYAML("tools:\n  t:\n    deny_if:\n      - conditions: [\(condition)]\n")
        let theCall = try identity.map { try call("t", arguments, identity: $0) } ?? call("t", arguments)
        return evaluate(policy, theCall).outcome == .deny
    }

    @Test func eqAndNeq() throws {
        #expect(try holds("{path: args.env, op: eq, value: prod}", #"{"env": "prod"}"#))
        #expect(try !holds("{path: args.env, op: eq, value: prod}", #"{"env": "Prod"}"#))
        #expect(try holds("{path: args.n, op: eq, value: 1}", #"{"n": 1.0}"#))
        #expect(try holds("{path: args.o, op: eq, value: {a: 1, b: [true, null]}}", #"{"o": {"b": [true, null], "a": 1e0}}"#))
        #expect(try holds("{path: args.env, op: neq, value: prod}", #"{"env": "dev"}"#))
        #expect(try !holds("{path: args.env, op: neq, value: prod}", #"{"env": "prod"}"#))
        // Strings compare byte for byte: a decomposed é is not a precomposed é.
        #expect(try !holds("{path: args.name, op: eq, value: \"caf\\u00e9\"}", #"{"name": "cafe\u0301"}"#))
        #expect(try holds("{path: args.name, op: eq, value: \"caf\\u00e9\"}", #"{"name": "caf\u00e9"}"#))
    }

    @Test func orderingOperatorsAreExact() throws {
        #expect(try holds("{path: args.amount, op: gt, value: 100}", #"{"amount": 100.0000000001}"#))
        #expect(try !holds("{path: args.amount, op: gt, value: 100}", #"{"amount": 100.000}"#))
        #expect(try holds("{path: args.amount, op: gte, value: 100}", #"{"amount": 1e2}"#))
        #expect(try holds("{path: args.id, op: gt, value: 9007199254740992}", #"{"id": 9007199254740993}"#))
        #expect(try holds("{path: args.amount, op: lt, value: 0}", #"{"amount": -0.0000001}"#))
        #expect(try !holds("{path: args.amount, op: lt, value: 0}", #"{"amount": -0}"#))
        #expect(try holds("{path: args.amount, op: lte, value: 5}", #"{"amount": 5}"#))
        #expect(try !holds("{path: args.amount, op: lte, value: 5}", #"{"amount": 5.5}"#))
        // Strings order by code point; mixed types never compare.
        #expect(try holds("{path: args.date, op: lt, value: \"2026-01-01\"}", #"{"date": "2025-12-31"}"#))
        #expect(try !holds("{path: args.amount, op: gt, value: 100}", #"{"amount": "1000"}"#))
    }

    @Test func inAndNotIn() throws {
        #expect(try holds("{path: args.region, op: in, value: [eu, us]}", #"{"region": "eu"}"#))
        #expect(try !holds("{path: args.region, op: in, value: [eu, us]}", #"{"region": "ap"}"#))
        #expect(try holds("{path: args.region, op: not_in, value: [eu, us]}", #"{"region": "ap"}"#))
        #expect(try !holds("{path: args.region, op: not_in, value: [eu, us]}", #"{"region": "us"}"#))
        #expect(try holds("{path: args.n, op: in, value: [1, 2]}", #"{"n": 2.0}"#))
    }

    @Test func existsRegexContains() throws {
        #expect(try holds("{path: args.force, op: exists}", #"{"force": null}"#))
        #expect(try !holds("{path: args.force, op: exists}", "{}"))
        #expect(try holds("{path: args.force, op: exists, value: false}", "{}"))
        #expect(try holds("{path: args.email, op: regex, value: \"@evil\\\\.com$\"}", #"{"email": "x@evil.com"}"#))
        #expect(try !holds("{path: args.email, op: regex, value: \"@evil\\\\.com$\"}", #"{"email": "x@evil.com.au"}"#))
        #expect(try !holds("{path: args.email, op: regex, value: \"evil\"}", #"{"email": ["evil"]}"#))
        #expect(try holds("{path: args.sql, op: contains, value: DROP}", #"{"sql": "x; DROP TABLE t"}"#))
        #expect(try !holds("{path: args.sql, op: contains, value: DROP}", #"{"sql": "drop table t"}"#))
        #expect(try holds("{path: args.tags, op: contains, value: admin}", #"{"tags": ["user", "admin"]}"#))
        #expect(try !holds("{path: args.tags, op: contains, value: admin}", #"{"tags": ["administrator"]}"#))
    }

    @Test func missingPathsAreFalseForEveryOperatorButExists() throws {
        for op in ["eq", "neq", "lt", "lte", "gt", "gte", "contains"] {
            #expect(try !holds("{path: args.missing, op: \(op), value: 1}", "{}"), "\(op)")
        }
        #expect(try !holds("{path: args.missing, op: in, value: [1]}", "{}"))
        #expect(try !holds("{path: args.missing, op: not_in, value: [1]}", "{}"))
        #expect(try !holds("{path: args.missing, op: regex, value: \".*\"}", "{}"))
    }

    @Test func nestedPathsAndArrayIndexes() throws {
        #expect(try holds("{path: args.user.email, op: eq, value: a@b.c}", #"{"user": {"email": "a@b.c"}}"#))
        #expect(try holds("{path: args.items.1.sku, op: eq, value: X}", #"{"items": [{"sku": "A"}, {"sku": "X"}]}"#))
        #expect(try !holds("{path: args.items.5.sku, op: eq, value: X}", #"{"items": [{"sku": "X"}]}"#))
        #expect(try !holds("{path: args.user.email.x, op: exists}", #"{"user": {"email": "a"}}"#))
    }

    @Test func identityServerToolAndSessionPaths() throws {
        let bob = Identity(name: "bob", grant: "g-9", labels: ["team": "ops"])
        #expect(try holds("{path: identity.name, op: eq, value: bob}", identity: bob))
        #expect(try holds("{path: identity.grant, op: eq, value: g-9}", identity: bob))
        #expect(try holds("{path: identity.labels.team, op: eq, value: ops}", identity: bob))
        #expect(try !holds("{path: identity.labels.region, op: exists}", identity: bob))
        #expect(try holds("{path: server, op: eq, value: srv}"))
        #expect(try holds("{path: tool, op: eq, value: t}"))
        #expect(try holds("{path: session, op: eq, value: s-1}"))
    }

    @Test func conditionsOfOneDenyRuleAreAllRequired() throws {
        let both = "{path: args.a, op: eq, value: 1}, {path: args.b, op: eq, value: 2}"
        #expect(try holds(both, #"{"a": 1, "b": 2}"#))
        #expect(try !holds(both, #"{"a": 1, "b": 3}"#))
    }
}
