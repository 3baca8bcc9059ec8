import Foundation
import Testing
import WardenPolicy

/// Every policy under examples/policies loads cleanly, and its own tests pass.
@Suite struct ExamplePolicyTests {
    static let folder = packageRoot.appending(path: "examples/policies")

    static var files: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") || $0.hasSuffix(".yaml") }.sorted().map { folder.appending(path: $0) }
    }

    @Test func thereAreExamples() {
        #expect(Self.files.count >= 3)
    }

    /// examples/policies/git.yaml says "read-only": every tool of mcp-server-git that writes is
    /// denied, enforced, wherever the repository; the reads go through inside the path fence.
    @Test func theGitExampleIsReadOnly() throws {
        let file = Self.folder.appending(path: "git.yaml")
        let policy = try PolicyLoader.load(Array(try Data(contentsOf: file)), file: "git.yaml")
        #expect(policy.warnings.isEmpty, "\(policy.warnings)")
        #expect(policy.mode == .enforce)
        let arguments = #"{"repo_path": "/srv/app", "message": "fix", "files": ["a.txt"], "branch_name": "main"}"#
        for tool in ["git_commit", "git_add", "git_checkout", "git_create_branch"] {
            let decision = evaluate(policy, try call(tool, arguments))
            #expect(decision.outcome == .deny, "\(tool)")
            #expect(decision.enforced, "\(tool) is enforced, not shadowed")
            #expect(decision.rule.description == "/tools/\(tool)/action")
        }
        for tool in ["git_reset", "git_init"] {
            #expect(evaluate(policy, try call(tool, arguments)).outcome == .hidden)
        }
        #expect(evaluate(policy, try call("git_push", arguments)).rule.description == "(default deny)")
        for tool in ["git_status", "git_diff", "git_diff_staged", "git_diff_unstaged", "git_log", "git_show", "git_branch"] {
            #expect(evaluate(policy, try call(tool, #"{"repo_path": "/srv/app"}"#)).outcome == .allow, "\(tool)")
        }
        for path in ["/etc", "/srv/app/../../etc", "/srv/.ssh", "/home/..", "srv/app"] {
            let decision = evaluate(policy, try call("git_status", "{\"repo_path\": \"\(path)\"}"))
            #expect(decision.outcome == .deny && decision.enforced, "\(path)")
        }
    }

    @Test(arguments: files)
    func exampleLoadsAndPassesItsTests(file: URL) async throws {
        let policy = try PolicyLoader.load(Array(try Data(contentsOf: file)), file: file.lastPathComponent)
        let results = await PolicyTestRunner.run(policy.tests, against: policy)
        for result in results {
            #expect(result.passed, "\(file.lastPathComponent): \(result.testCase.name): \(result.failure ?? "")")
        }
    }
}
