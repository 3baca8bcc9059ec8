import Testing
import WardenJSON

@Suite struct JSONValueTests {
    @Test func equalityIsJSONEquality() throws {
        #expect(try JSONReader.parse(#"{"a":1,"b":[1.0,"x"]}"#) == JSONReader.parse(#"{"b":[1,"x"],"a":1e0}"#))
        #expect(try JSONReader.parse(#"{"a":1}"#) != JSONReader.parse(#"{"a":1,"b":2}"#))
        #expect(JSONValue.string("caf\u{e9}") != .string("cafe\u{301}"))
        #expect(JSONValue.string("a") != .number(JSONNumber(1)))
        #expect(JSONValue.array([1, 2]) != [2, 1])
        #expect(JSONValue.null == nil)
    }

    @Test func objectLookupIsByteExact() {
        let object: JSONValue = ["caf\u{e9}": 1, "a": 2]
        #expect(object["caf\u{e9}"] == 1)
        #expect(object["cafe\u{301}"] == nil)
        #expect(object["missing"] == nil)
        #expect(JSONValue.array([])["a"] == nil)
    }

    @Test func accessorsAndTypeNames() {
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.array([1]).arrayValue?.count == 1)
        #expect(JSONValue.null.typeName == "null")
        #expect(JSONValue.number(JSONNumber(1)).typeName == "number")
        #expect(JSONValue.object(JSONObject()).typeName == "object")
    }

    @Test func exactNamesCompareBytes() {
        #expect(ExactName("caf\u{e9}") != ExactName("cafe\u{301}"))
        #expect(Set([ExactName("caf\u{e9}"), ExactName("cafe\u{301}")]).count == 2)
        #expect(ExactName("a") == ExactName("a"))
        #expect("é".hasSameBytes(as: "\u{e9}"))
        #expect(!"é".hasSameBytes(as: "e\u{301}"))
        #expect("".hasSameBytes(as: ""))
        #expect(!"".hasSameBytes(as: "a"))
        let long = String(repeating: "tool_name_", count: 5)
        #expect(long.hasSameBytes(as: String(repeating: "tool_name_", count: 5)))
        #expect(!long.hasSameBytes(as: String(long.dropLast()) + "X"))
        #expect(!"abc".hasSameBytes(as: "abd"))
    }
}

@Suite struct JSONObjectTests {
    @Test func settingKeepsTheOrderAndAddsAtTheEnd() throws {
        guard case .object(var object) = try JSONReader.parse(#"{"a":1,"name":"x","z":[]}"#) else {
            Issue.record("not an object")
            return
        }
        object.set("name", to: "y")
        object.set("new", to: true)
        #expect(JSONWriter.write(.object(object)) == #"{"a":1,"name":"y","z":[],"new":true}"#)
    }
}
