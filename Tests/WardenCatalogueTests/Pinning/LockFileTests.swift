import Foundation
import Testing
import WardenCatalogue
import WardenJSON

@Suite struct LockFileTests {
    static func tool(_ name: String, _ description: String, schema: String = #"{"type":"object"}"#) throws -> ToolDefinition {
        try #require(ToolDefinition(listEntry: JSONReader.parse(
            #"{"name":"\#(name)","description":"\#(description)","inputSchema":\#(schema)}"#)))
    }

    @Test func roundTripKeepsEveryPinAndItsDefinition() throws {
        var lock = LockFile()
        lock.pin(try Self.tool("git_status", "Shows the status"), server: "git")
        lock.pin(try Self.tool("git_log", "Shows commits", schema: #"{"type":"object","properties":{"n":{"type":"integer","minimum":1.50}}}"#), server: "git")
        lock.pin(try Self.tool("get_time", #"What time is it \u2028 \"now\" \ud83d\ude00"#), server: "time")
        let read = try LockFile(bytes: lock.encoded())
        #expect(read == lock)
        #expect(read.servers["git"]?["git_log"]?.definition == lock.servers["git"]?["git_log"]?.definition)
        // Numbers keep their spelling, so the hash still matches after a round trip.
        #expect(read.servers["git"]?["git_log"]?.sha256 == (try Self.tool("git_log", "Shows commits", schema: #"{"type":"object","properties":{"n":{"type":"integer","minimum":1.50}}}"#)).fingerprint)
    }

    @Test func writingIsStable() throws {
        var first = LockFile()
        first.pin(try Self.tool("b", "second"), server: "s")
        first.pin(try Self.tool("a", "first"), server: "s")
        var second = LockFile()
        second.pin(try Self.tool("a", "first"), server: "s")
        second.pin(try Self.tool("b", "second"), server: "s")
        #expect(first.encoded() == second.encoded())
        let text = String(decoding: first.encoded(), as: UTF8.self)
        #expect(text.hasSuffix("}\n"))
        #expect(try #require(text.range(of: "\"a\"")).lowerBound < (try #require(text.range(of: "\"b\"")).lowerBound))
    }

    @Test func canonicalHashIsStableAcrossKeyOrderAndKnownValue() throws {
        let listed = try #require(ToolDefinition(listEntry: JSONReader.parse(
            #"{"inputSchema":{"type":"object"},"description":"d","name":"t","title":"T"}"#)))
        // SHA-256 of {"description":"d","inputSchema":{"type":"object"},"name":"t","title":"T"}:
        // a lock file written today must match tomorrow's Warden.
        #expect(listed.fingerprint == "7e391f1f4039e2ed7882ab1b6f894de4341c98496cf1187d7012351380975dd6")
        #expect(listed.fingerprint == LockFile.Tool(listed).sha256)
    }

    @Test(arguments: [
        ("", LockFileError.Kind.notJSON),
        ("[]", .malformed),
        (#"{"servers":{}}"#, .malformed),
        (#"{"version":2,"servers":{}}"#, .unsupportedVersion),
        (#"{"version":"1","servers":{}}"#, .unsupportedVersion),
        (#"{"version":1,"servers":{},"extra":1}"#, .malformed),
        (#"{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"abc"}}}}}"#, .malformed),
        (#"{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"\#(String(repeating: "a", count: 64))","definition":{"name":"other"}}}}}}"#, .malformed),
        (#"{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"\#(String(repeating: "a", count: 64))","definition":{"name":"t"}}}}}}"#, .hashMismatch),
        (#"{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"\#(String(repeating: "a", count: 64))","definition":{"name":"t","description":5}}}}}}"#, .malformed),
        (#"{"version":1,"servers":{"s":{"tools":[]}}}"#, .malformed),
    ])
    func malformedFilesAreRefused(text: String, kind: LockFileError.Kind) {
        #expect {
            _ = try LockFile(bytes: Array(text.utf8), file: "/tmp/x.lock")
        } throws: { error in
            guard let error = error as? LockFileError else { return false }
            return error.kind == kind && error.description.contains("/tmp/x.lock") && error.description.contains("warden pin")
        }
    }

    @Test func hashOnlyPinsAreRead() throws {
        let hash = String(repeating: "0", count: 64)
        let lock = try LockFile(bytes: Array(#"{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"\#(hash)"}}}}}"#.utf8))
        #expect(lock.servers["s"]?["t"]?.sha256 == hash)
        #expect(lock.servers["s"]?["t"]?.definition == nil)
    }
}
