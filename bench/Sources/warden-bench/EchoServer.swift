// A minimal, fast stdio MCP server: answers initialize, tools/list (one tool, `echo`) and
// tools/call with fixed responses, so the benchmarks measure the relay, not the server. It
// works on bytes, without Foundation: one read(2) for whatever lines arrived, one write(2) for
// their answers. Its cost per call is then mostly the kernel's (the pipes and the wake-ups),
// which bench/scaleout reports beside the gateway's.
#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

func runEchoServer() {
    let initialize = Array(#"{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}}"#.utf8)
    let tools = Array(#"{"tools":[{"name":"echo","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}]}"#.utf8)
    let called = Array(#"{"content":[{"type":"text","text":"ok"}],"isError":false}"#.utf8)
    var pending: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    var answers: [UInt8] = []
    while true {
        let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return }
        pending += buffer[0..<count]
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[start..<newline]
            start = newline + 1
            // The id is everything between `"id":` and the next comma or brace: the benchmark's ids are numbers.
            guard let idStart = line.firstRange(of: #""id":"#.utf8)?.upperBound else { continue }
            let id = line[idStart...].prefix { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "}") }
            let result =
                if line.firstRange(of: #""method":"initialize""#.utf8) != nil { initialize }
                else if line.firstRange(of: #""method":"tools/list""#.utf8) != nil { tools }
                else { called }
            answers += #"{"jsonrpc":"2.0","id":"#.utf8
            answers += id
            answers += #","result":"#.utf8
            answers += result
            answers += "}\n".utf8
        }
        pending.removeFirst(start)
        var written = 0
        while written < answers.count {
            let wrote = answers[written...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if wrote < 0 && errno == EINTR { continue }
            guard wrote > 0 else { return }
            written += wrote
        }
        answers.removeAll(keepingCapacity: true)
    }
}
