import Foundation
import Testing

@Suite struct ScanCommandTests {
    @Test func usageMistakesExitTwoAndSayWhatToDo() async throws {
        let none = try await WardenBinary.run(["scan"])
        #expect(none.status == 2 && none.stderr.contains("Name a server: -- CMD ARGS…, --url URL, or --config FILE."))
        let two = try await WardenBinary.run(["scan", "--url", "http://127.0.0.1:1/mcp", "--", "mcp-server-time"])
        #expect(two.status == 2 && two.stderr.contains("Name one target"))
        let header = try await WardenBinary.run(["scan", "--header", "X-A: b", "--", "mcp-server-time"])
        #expect(header.status == 2 && header.stderr.contains("--header goes with --url."))
        let badHeader = try await WardenBinary.run(["scan", "--url", "http://127.0.0.1:1/mcp", "--header", "nocolon"])
        #expect(badHeader.status == 2 && badHeader.stderr.contains("--header takes K:V"))
        let format = try await WardenBinary.run(["scan", "--format", "yaml", "--", "x"])
        #expect(format.status == 2)
    }

    @Test func aMissingCommandExitsTwoWithWhatToCheck() async throws {
        let missing = try await WardenBinary.run(["scan", "--quiet", "--", "warden-no-such-server-xyz"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("command not found: warden-no-such-server-xyz"))
        #expect(missing.stdout.isEmpty)
    }

    @Test func aStdioServerIsScannedAsJSON() async throws {
        let echo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "tests/e2e/fixtures/echo_server.py").path
        let scanned = try await WardenBinary.run(["scan", "--format", "json", "--", "python3", echo])
        #expect(scanned.status == 0, "\(scanned.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(scanned.stdout.utf8)) as? [String: Any])
        #expect((report["tools"] as? [[String: Any]])?.count == 14)
        #expect((report["server"] as? [String: Any])?["name"] as? String == "echo")
        #expect(scanned.stderr.contains("warden scan: listing tools (page 7)"))
    }
}
