import Testing
import WardenJSON

@testable import WardenGateway

/// How a session's message is tagged for a shared server without being read again: only a
/// request whose one tag is its top-level id; everything else is left to the reading path.
@Suite struct SharedServerTaggingTests {
    static func tagged(_ message: String, member: Int = 3) -> String? {
        SharedServer.requestTaggedInPlace(Array(message.utf8), from: member).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aRequestGetsItsIdTaggedAndKeepsEveryOtherByte() throws {
        let message = #"{"jsonrpc":"2.0", "id" : 17,"method":"tools/call","params":{"name":"echo","arguments":{"id":1,"text":"a\"b"}}}"#
        let tagged = try #require(Self.tagged(message))
        #expect(tagged == #"{"jsonrpc":"2.0", "id" : "w3.17","method":"tools/call","params":{"name":"echo","arguments":{"id":1,"text":"a\"b"}}}"#)
        let id = try #require(try JSONReader.parse(Array(tagged.utf8))["id"])
        let untagged = try #require(SharedID.untag(id))
        #expect(untagged.member == 3 && untagged.original == 17)
    }

    @Test func aStringIdIsTaggedAsTheReadingPathWould() throws {
        let tagged = try #require(Self.tagged(#"{"jsonrpc":"2.0","id":"a\"b","method":"ping"}"#))
        #expect(try JSONReader.parse(Array(tagged.utf8))["id"] == SharedID.tag(.string("a\"b"), member: 3))
    }

    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":5}}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
        #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
        #"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        #"{"jsonrpc":"2.0","m\u0065thod":"ping","id":1}"#,
        #"{"jsonrpc":"2.0","\u0069d":2,"method":"ping"}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"progress\u0054oken":"w2.7"}}}"#,
    ])
    func everythingElseIsLeftToTheReadingPath(_ message: String) {
        #expect(Self.tagged(message) == nil)
    }
}
