import Testing
import WardenJSON
import WardenMCP
import WardenPolicy

@Suite struct LineFramerTests {
    @Test func splitsLinesAcrossChunks() {
        var framer = LineFramer(maxLineLength: 100)
        #expect(framer.append(Array("{\"a\":".utf8)) == [])
        #expect(framer.append(Array("1}\n{\"b\":2}\r\n\n{\"c\"".utf8)) == [.message(Array("{\"a\":1}".utf8)), .message(Array("{\"b\":2}".utf8))])
        #expect(framer.append(Array(":3}\n".utf8)) == [.message(Array("{\"c\":3}".utf8))])
        #expect(framer.finish() == nil)
    }

    @Test func refusesOverlongLinesWithoutBufferingThem() {
        var framer = LineFramer(maxLineLength: 8)
        let lines = framer.append(Array("0123456789abcdef\nshort\n".utf8))
        #expect(lines == [.tooLong(MessageEnvelope(length: 16)), .message(Array("short".utf8))])
        #expect(framer.append(Array("12345678".utf8)) == [])
        #expect(framer.finish() == .message(Array("12345678".utf8)))
        _ = framer.append(Array("123456789".utf8))
        #expect(framer.finish() == .tooLong(MessageEnvelope(length: 9)))
    }

    func oversize(_ text: String, chunk: Int = 5) -> MessageEnvelope? {
        var framer = LineFramer(maxLineLength: 10)
        var lines: [LineFramer.Line] = []
        let bytes = Array((text + "\n").utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            lines += framer.append(bytes[start..<min(start + chunk, bytes.count)])
        }
        guard lines.count == 1, case .tooLong(let message) = lines[0] else { return nil }
        return message
    }

    @Test func findsTheIdOfAnOverlongMessage() {
        let request = #"{"jsonrpc":"2.0","method":"tools/call","params":{"id":"inner","x":[1,{"id":2}]},"id":"a\"b"}"#
        #expect(
            oversize(request)
                == MessageEnvelope(length: request.utf8.count, id: "a\"b", hasMethod: true, methods: ["tools/call"]))
        let response = #"{"id": 42 ,"result":{"content":[{"text":"}{,\"id\":9"}]},"jsonrpc":"2.0"}"#
        #expect(oversize(response, chunk: 3) == MessageEnvelope(length: response.utf8.count, id: 42, hasMethod: false))
        // Ambiguous or missing ids are not guessed.
        #expect(oversize(#"{"id":1,"id":2,"method":"x","params":{}}"#)?.id == nil)
        #expect(oversize(#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#)?.id == nil)
        #expect(oversize(#"[{"id":1,"method":"ping"},{"id":2,"method":"ping"}]"#) == MessageEnvelope(length: 51, id: nil, hasMethod: false, isBatch: true))
        #expect(oversize(#"{"id":{"a":1},"method":"ping","jsonrpc":"2.0"}"#)?.id == nil)
    }

    @Test func findsTheToolAnUnreadableCallNames() {
        let call = #"{"params":{"arguments":{"name":"inner","x":{"name":"deeper"}},"name":"get_time"},"method":"tools/call","id":1}"#
        let envelope = EnvelopeScanner.envelope(of: Array(call.utf8))
        #expect(envelope.methods == ["tools/call"] && envelope.toolNames == ["get_time"])
        // Only `params.name` counts, not a `name` elsewhere; a batch shows none.
        #expect(EnvelopeScanner.envelope(of: Array(#"{"method":"x","name":"y","result":{"name":"z"}}"#.utf8)).toolNames == [])
        #expect(EnvelopeScanner.envelope(of: Array(#"[{"method":"tools/call","params":{"name":"a"}}]"#.utf8)).methods == [])
        // Duplicate keys: every value is kept; escapes are resolved; a name too long is cut, marked.
        let twice = EnvelopeScanner.envelope(of: Array(#"{"method":"tools\/call","method":"ping","params":{"name":"ok","name":"rm"}}"#.utf8))
        #expect(twice.methods == ["tools/call", "ping"] && twice.toolNames == ["ok", "rm"])
        let long = EnvelopeScanner.envelope(of: Array((#"{"method":"tools/call","params":{"name":""# + String(repeating: "é", count: 200) + #""}}"#).utf8))
        #expect(long.toolNames.count == 1 && long.toolNames[0].hasSuffix("…") && long.toolNames[0].unicodeScalars.count == 129)
        // Bytes that are not UTF-8 are shown with replacement characters.
        #expect(EnvelopeScanner.envelope(of: Array(#"{"method":"tools/call","params":{"name":"a"#.utf8) + [0xFF, 0x22, 0x7D, 0x7D]).toolNames == ["a\u{FFFD}"])
    }
}

@Suite struct MessageIDTests {
    @Test func replacesOnlyTheTopLevelID() throws {
        let message = Array(#"{"params":{"id":"inner","s":"\"id\":1"},"id" : "c-1" ,"method":"x"}"#.utf8)
        let range = try #require(MessageID.valueRange(ofTopLevelID: message))
        #expect(String(decoding: message[range], as: UTF8.self) == #""c-1""#)
        let replaced = MessageID.replacing(range, in: message, with: Array("17".utf8))
        #expect(String(decoding: replaced, as: UTF8.self) == #"{"params":{"id":"inner","s":"\"id\":1"},"id" : 17 ,"method":"x"}"#)
        for spelled in ["-0", "1E2", "1e400", #""\u0041""#, "12345678901234567890123"] {
            let answer = Array(#"{"jsonrpc":"2.0","id":7,"result":{}}"#.utf8)
            let back = MessageID.replacing(try #require(MessageID.valueRange(ofTopLevelID: answer)), in: answer, with: Array(spelled.utf8))
            #expect(String(decoding: back, as: UTF8.self) == #"{"jsonrpc":"2.0","id":"# + spelled + #","result":{}}"#)
        }
    }

    @Test func declinesWhatItCannotSpliceSafely() {
        #expect(MessageID.valueRange(ofTopLevelID: Array(#"{"\u0069d":1,"method":"x"}"#.utf8)) == nil)
        #expect(MessageID.valueRange(ofTopLevelID: Array(#"{"method":"notifications/x"}"#.utf8)) == nil)
        #expect(MessageID.valueRange(ofTopLevelID: Array(#"[{"id":1}]"#.utf8)) == nil)
    }
}

@Suite struct JSONRPCMessageTests {
    func classify(_ text: String) throws -> JSONRPCMessage {
        try JSONRPCMessage(JSONReader.parse(text))
    }

    @Test func classifiesEnvelopes() throws {
        guard case .request(let id, "tools/call", _) = try classify(#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#) else {
            Issue.record("not a request")
            return
        }
        #expect(id == 7)
        guard case .notification("notifications/initialized", _) = try classify(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) else {
            Issue.record("not a notification")
            return
        }
        guard case .response(let responseID, _) = try classify(#"{"jsonrpc":"2.0","id":"a","result":{}}"#) else {
            Issue.record("not a response")
            return
        }
        #expect(responseID == "a")
        #expect(RequestKey(7) != RequestKey("7"))
        #expect(RequestKey(7) == RequestKey(7))
    }

    @Test(arguments: [
        #"[]"#, #"{"id":1,"method":"x"}"#, #"{"jsonrpc":"1.0","id":1,"method":"x"}"#, #"{"jsonrpc":"2.0","id":true,"method":"x"}"#,
        #"{"jsonrpc":"2.0","id":1,"method":5}"#, #"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#, #"{"jsonrpc":"2.0"}"#,
        #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
    ])
    func rejectsWhatIsNotJSONRPC(text: String) {
        #expect(throws: JSONRPCMessage.Invalid.self) { try classify(text) }
    }
}

@Suite struct ResponseTests {
    @Test func denialsAreToolResultsWithAStructuredCopy() throws {
        let decision = Decision(outcome: .deny, rule: .pointer(JSONPointer("/tools/t/limits/0")!), message: "limit reached", retryAfterSeconds: 12)
        let response = try JSONReader.parse(PolicyDenialResult.response(id: "x", decision: decision))
        #expect(response["id"] == "x")
        #expect(response["result"]?["isError"] == true)
        #expect(response["result"]?["content"]?.arrayValue?.first?["text"] == "[POLICY DENIED] limit reached (rule /tools/t/limits/0)")
        let meta = response["result"]?["_meta"]?[PolicyDenialResult.metaKey]
        #expect(meta?["rule"] == "/tools/t/limits/0")
        #expect(meta?["retryAfterSeconds"] == 12)
    }

    @Test func errorResponses() throws {
        let error = try JSONReader.parse(JSONRPCError.response(id: nil, code: JSONRPCError.parseError, message: "Parse error"))
        #expect(error == ["jsonrpc": "2.0", "id": nil, "error": ["code": -32700, "message": "Parse error"]])
    }
}

@Suite struct ToolListFilterTests {
    static let result = try! JSONReader.parse(
        #"{"tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"secret","x":1.50},{"name":"b"}],"nextCursor":"p2"}"#)

    @Test func removesHiddenToolsAndKeepsTheRest() {
        let filter = ToolListFilter(result: Self.result) { $0 != "secret" }
        #expect(filter.tools.map(\.name) == ["a", "secret", "b"])
        #expect(filter.tools[0].inputSchema == ["type": "object"])
        #expect(filter.filteredResult.map { JSONWriter.write($0) } == #"{"tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"b"}],"nextCursor":"p2"}"#)
    }

    @Test func leavesAnUnchangedListAlone() {
        #expect(ToolListFilter(result: Self.result) { _ in true }.filteredResult == nil)
        #expect(ToolListFilter(result: ["other": 1]) { _ in false }.filteredResult == nil)
    }
}

@Suite struct ServerSentEventParserTests {
    @Test func eventsAcrossChunksAndLineEndings() {
        var parser = ServerSentEventParser(maxEventBytes: 1000)
        let stream = ": comment\r\nevent: message\r\nid: 7\r\ndata: {\"a\":\n\ndata: 1\ndata: 2\n\nevent: endpoint\rdata: /messages?x=1\r\r"
        var events: [ServerSentEventParser.Event] = []
        for byte in Array(stream.utf8) { events += parser.append([byte]) }
        #expect(events == [
            .init(type: "message", data: Array("{\"a\":".utf8), id: "7"),
            .init(type: "message", data: Array("1\n2".utf8), id: "7"),
            .init(type: "endpoint", data: Array("/messages?x=1".utf8), id: "7"),
        ])
    }

    @Test func theLastEventIDAndRetryAreKeptForResuming() {
        var parser = ServerSentEventParser(maxEventBytes: 1000)
        #expect(parser.lastEventID == nil && parser.retryMilliseconds == nil)
        // A priming event (id, empty data, retry), then a message without an id of its own.
        _ = parser.append(Array("id: 41\nretry: 250\ndata: \n\ndata: {}\n\n".utf8))
        #expect(parser.lastEventID == "41")
        #expect(parser.retryMilliseconds == 250)
        // A malformed retry is ignored; an empty id clears the last one.
        _ = parser.append(Array("retry: 5s\nid: 42\ndata: {}\n\n".utf8))
        #expect(parser.lastEventID == "42" && parser.retryMilliseconds == 250)
        _ = parser.append(Array("id\ndata: {}\n\n".utf8))
        #expect(parser.lastEventID == nil)
        // An event cut off before its blank line does not count yet.
        _ = parser.append(Array("id: 43\ndata: {}\n".utf8))
        #expect(parser.lastEventID == nil)
        _ = parser.append(Array("\n".utf8))
        #expect(parser.lastEventID == "43")
    }

    @Test func oversizeEventsAreDroppedWhole() {
        var parser = ServerSentEventParser(maxEventBytes: 10)
        #expect(parser.append(Array("data: 0123456789abcdef\n\ndata: ok\n\n".utf8)) == [.init(data: Array("ok".utf8))])
    }
}
