import Testing
import WardenJSON
import WardenMCP

@Suite struct MCPParamHeadersTests {
    let schema = try! JSONReader.parse(
        #"""
        {"type":"object","properties":{
          "region":{"type":"string","x-mcp-header":"Region"},
          "count":{"type":"integer","x-mcp-header":"Count"},
          "dry":{"type":"boolean","x-mcp-header":"Dry-Run"},
          "ratio":{"type":"number","x-mcp-header":"Ratio"},
          "bad":{"type":"string","x-mcp-header":"has space"},
          "target":{"type":"object","properties":{"zone":{"type":"string","x-mcp-header":"Zone"}}},
          "list":{"type":"array","items":{"type":"string","x-mcp-header":"Item"}}}}
        """#)

    func mismatch(_ arguments: String, _ headers: [(String, String)]) throws -> String? {
        MCPParamHeaders.mismatch(
            MCPParamHeaders.declarations(in: schema), arguments: try JSONReader.parse(arguments).objectValue!,
            headers: headers.map { (name: $0.0, value: $0.1) })
    }

    @Test func onlyValidAnnotationsReachableThroughPropertiesCount() {
        let declared = MCPParamHeaders.declarations(in: schema)
        #expect(declared.map(\.headerName) == ["Mcp-Param-Region", "Mcp-Param-Count", "Mcp-Param-Dry-Run", "Mcp-Param-Zone"])
        #expect(declared.last?.path == ["target", "zone"])
    }

    @Test func headersMustMirrorTheirArgumentsExactly() throws {
        #expect(try mismatch(#"{"region":"eu","count":3,"dry":true,"target":{"zone":"a"}}"#, [
            ("mcp-param-region", "eu"), ("Mcp-Param-Count", "3.0"), ("MCP-PARAM-DRY-RUN", "true"), ("Mcp-Param-Zone", "a"),
        ]) == nil)
        #expect(try mismatch(#"{}"#, []) == nil)
        #expect(try mismatch(#"{"region":null}"#, []) == nil, "null counts as absent")
        #expect(try mismatch(#"{"region":"eu"}"#, [("Mcp-Param-Region", "us")]) == "The Mcp-Param-Region header does not match the argument region")
        #expect(try mismatch(#"{"region":"eu"}"#, []) == "The Mcp-Param-Region header is missing but the argument region is present")
        #expect(try mismatch(#"{}"#, [("Mcp-Param-Count", "1")]) == "The Mcp-Param-Count header is present but the argument count is absent")
        #expect(try mismatch(#"{"count":3}"#, [("Mcp-Param-Count", "3.5")]) != nil)
        #expect(try mismatch(#"{"region":"eu"}"#, [("Mcp-Param-Region", "eu"), ("mcp-param-region", "eu")]) == "The Mcp-Param-Region header appears more than once")
    }

    @Test func base64WrappedValuesAreDecoded() throws {
        // "Zürich" is not a header-safe value: clients send =?base64?WsO8cmljaA==?=
        #expect(try mismatch(#"{"region":"Zürich"}"#, [("Mcp-Param-Region", "=?base64?WsO8cmljaA==?=")]) == nil)
        #expect(try mismatch(#"{"region":"Zürich"}"#, [("Mcp-Param-Region", "=?base64?not*base64?=")]) == "The Mcp-Param-Region header carries a malformed base64 value")
    }
}
