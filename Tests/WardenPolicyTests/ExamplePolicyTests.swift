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

    @Test(arguments: files)
    func exampleLoadsAndPassesItsTests(file: URL) async throws {
        let policy = try PolicyLoader.load(Array(try Data(contentsOf: file)), file: file.lastPathComponent)
        let results = await PolicyTestRunner.run(policy.tests, against: policy)
        for result in results {
            #expect(result.passed, "\(file.lastPathComponent): \(result.testCase.name): \(result.failure ?? "")")
        }
    }
}
