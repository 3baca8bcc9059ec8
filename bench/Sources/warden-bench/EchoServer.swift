// A minimal, fast stdio MCP server: answers initialize, tools/list (one tool, `echo`) and
// tools/call with fixed responses, so the stdio benchmark measures the relay, not the server.
import Foundation

func runEchoServer() {
    let initialize = #"{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}}"#
    let tools = #"{"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}]}"#
    let called = #"{"content":[{"type":"text","text":"ok"}],"isError":false}"#
    while let line = readLine(strippingNewline: true) {
        // The id is everything between `"id":` and the next comma: the benchmark's ids are numbers.
        guard let idRange = line.range(of: #""id":"#) else { continue }
        let id = line[idRange.upperBound...].prefix { $0 != "," && $0 != "}" }
        let result: String
        if line.contains(#""method":"initialize""#) {
            result = initialize
        } else if line.contains(#""method":"tools/list""#) {
            result = tools
        } else {
            result = called
        }
        print(#"{"jsonrpc":"2.0","id":\#(id),"result":\#(result)}"#)
        fflush(nil)
    }
}
