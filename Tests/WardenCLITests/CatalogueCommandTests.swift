import Foundation
import Testing
import WardenJSON

/// `warden catalogue ...` run as a user would, through the built binary, against the catalogue
/// built into it.
@Suite struct CatalogueCommandTests {
    @Test func searchListsMatchingServersAndTools() async throws {
        let table = try await WardenBinary.run(["catalogue", "search", "git_status"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["SERVER", "TOOL", "CLASS", "RISK"])
        #expect(table.lines.contains { $0.hasPrefix("mcp-server-git") && $0.contains("git_status") })

        let json = try JSONReader.parse(try await WardenBinary.run(["catalogue", "search", "mcp-server-time", "--format", "json"]).stdout)
        #expect(json.arrayValue?.first?["server"]?.stringValue == "mcp-server-time")

        let markdown = try await WardenBinary.run(["catalogue", "search", "git_log", "--format", "markdown"])
        #expect(markdown.lines.prefix(2) == ["| Server | Tool | Class | Risk |", "| --- | --- | --- | --- |"])
    }

    @Test func showPrintsEveryToolWithClassRiskAndRationale() async throws {
        let shown = try await WardenBinary.run(["catalogue", "show", "mcp-server-time"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.lines.first?.hasPrefix("mcp-server-time ") == true)
        #expect(shown.lines.contains { $0.hasPrefix("get_current_time") })
        #expect(shown.lines.contains { $0.hasPrefix("convert_time") })

        let json = try JSONReader.parse(try await WardenBinary.run(["catalogue", "show", "MCP-SERVER-TIME", "--format", "json"]).stdout)
        #expect(json["package"]?["name"]?.stringValue == "mcp-server-time")
        #expect(json["tools"]?.arrayValue?.allSatisfy { $0["sha256"]?.stringValue?.count == 64 } == true)
    }

    @Test func policyPrintsTheStarterPolicyWhichPassesCheck() async throws {
        let policy = try await WardenBinary.run(["catalogue", "policy", "mcp-server-git"])
        #expect(policy.status == 0, "\(policy.stderr)")
        let file = try WardenBinary.temporaryFile("git.yaml", policy.stdout)
        let check = try await WardenBinary.run(["policy", "check", file])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let tests = try await WardenBinary.run(["policy", "test", file])
        #expect(tests.status == 0, "\(tests.stdout)\(tests.stderr)")
    }

    @Test func aMissExitsOneWithTheClosestNamesAndUsageErrorsExitTwo() async throws {
        let missing = try await WardenBinary.run(["catalogue", "show", "mcp-server-gti"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("did you mean mcp-server-git"))
        let policy = try await WardenBinary.run(["catalogue", "policy", "no-such-server"])
        #expect(policy.status == 1)
        let nothing = try await WardenBinary.run(["catalogue", "search", "zzqx-matches-nothing"])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("nothing matches"))
        #expect(try await WardenBinary.run(["catalogue", "search"]).status == 2)
        #expect(try await WardenBinary.run(["catalogue", "show", "mcp-server-git", "--format", "yaml"]).status == 2)
    }
}
