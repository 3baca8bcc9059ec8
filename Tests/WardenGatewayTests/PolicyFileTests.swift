import Foundation
import Logging
import Testing
import WardenGateway
import WardenPolicy

@Suite struct PolicyFileTests {
    func writeFile(_ text: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appending(path: "policy.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func reloadsAChangedFileAndKeepsTheOldVersionWhenTheNewOneIsInvalid() throws {
        let path = try writeFile("tools:\n  a: {}\n")
        let file = try PolicyFile(path: path, logger: Logger(label: "test"))
        let first = file.current
        #expect(first.policy.toolNames == ["a"])
        #expect(first.hash.count == 64)

        try "tools:\n  a: {}\n  b: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        file.reload()
        #expect(file.current.policy.toolNames == ["a", "b"])
        #expect(file.current.hash != first.hash)

        try "tools:\n  a: {limts: []}\n".write(toFile: path, atomically: true, encoding: .utf8)
        file.reload()
        #expect(file.current.policy.toolNames == ["a", "b"])
    }

    @Test func watchingPicksUpChanges() async throws {
        let path = try writeFile("tools:\n  a: {}\n")
        let file = try PolicyFile(path: path, logger: Logger(label: "test"))
        let watcher = Task { await file.watch(interval: .milliseconds(20)) }
        defer { watcher.cancel() }
        try await Task.sleep(for: .milliseconds(1100))  // a new modification time, even on 1 s clocks
        try "tools:\n  c: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        while file.current.policy.toolNames != ["c"], ContinuousClock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(file.current.policy.toolNames == ["c"])
    }

    @Test func anInvalidFirstVersionIsAnError() throws {
        let path = try writeFile("default: maybe\n")
        #expect(throws: PolicyLoadError.self) { try PolicyFile(path: path, logger: Logger(label: "test")) }
        #expect(throws: PolicyLoadError.self) { try PolicyFile(path: path + ".missing", logger: Logger(label: "test")) }
    }
}
