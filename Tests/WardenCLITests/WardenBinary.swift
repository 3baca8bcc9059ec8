import Foundation

/// Runs the built `warden` executable, as a user would.
struct WardenBinary {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String

        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The executable next to the test bundle (both are built by `swift build --build-tests`).
    static let url: URL = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            besideTests.appending(path: "warden"),
            besideTests.deletingLastPathComponent().appending(path: "warden"),
            packageRoot.appending(path: ".build/debug/warden"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    /// Runs `warden arguments...` in the package root and waits for it. Output goes through
    /// temporary files, so no pipe can fill up and block the child.
    static func run(_ arguments: [String]) throws -> Output {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let stdoutURL = folder.appending(path: "stdout")
        let stderrURL = folder.appending(path: "stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL)
        let stderr = try FileHandle(forWritingTo: stderrURL)

        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try stdout.close()
        try stderr.close()
        return Output(
            status: process.terminationStatus,
            stdout: try String(contentsOf: stdoutURL, encoding: .utf8),
            stderr: try String(contentsOf: stderrURL, encoding: .utf8)
        )
    }

    /// A database path in a fresh folder (no file there yet).
    static func temporaryDatabase() -> String {
        FileManager.default.temporaryDirectory.appending(path: "warden-cli-\(UUID().uuidString)/warden.db").path
    }

    /// A database that exists and holds nothing yet: made by a `warden run` whose server
    /// (`true`) exits at once.
    static func emptyDatabase() throws -> String {
        let db = temporaryDatabase()
        let made = try run(["run", "--policy", "examples/policies/time.yaml", "--db", db, "--", "true"])
        guard made.status == 0 else { throw SetupFailure(description: "warden run could not make \(db): \(made.stderr)") }
        return db
    }

    /// A test's set-up went wrong: what, and what the binary said.
    struct SetupFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `text` to a temporary file named `name` and returns its path.
    static func temporaryFile(_ name: String, _ text: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appending(path: name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
