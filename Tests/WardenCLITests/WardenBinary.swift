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
    /// temporary files, so no pipe can fill up and block the child. `input` is its standard
    /// input (else nothing); `environment` is its environment (else the tests', without Warden's variables).
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil) async throws -> Output {
        // Without a time limit there is always an output.
        try await run(arguments, input: input, environment: environment, timeout: nil)!
    }

    /// ``run(_:input:environment:)``, but stopped after `timeout` seconds if it is still
    /// running: then the result is `nil`.
    static func run(
        _ arguments: [String], input: String? = nil, environment: [String: String]? = nil, timeout: TimeInterval?
    ) async throws -> Output? {
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
        if let input {
            let inputURL = folder.appending(path: "stdin")
            try input.write(to: inputURL, atomically: true, encoding: .utf8)
            process.standardInput = try FileHandle(forReadingFrom: inputURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.environment = environment ?? Self.environment()
        let exited = try Self.start(process)
        if let timeout {
            let timedOut = Task { () -> Bool in
                guard (try? await Task.sleep(for: .seconds(timeout))) != nil else { return false }
                process.terminate()
                return true
            }
            await exited.value
            timedOut.cancel()
            if await timedOut.value { return nil }
        }
        await exited.value
        try stdout.close()
        try stderr.close()
        return Output(
            status: process.terminationStatus,
            stdout: try String(contentsOf: stdoutURL, encoding: .utf8),
            stderr: try String(contentsOf: stderrURL, encoding: .utf8)
        )
    }

    /// Starts `process`; the task ends when it has exited. Waiting for it this way holds no
    /// thread: a test blocked in `waitUntilExit` holds one of the few the tests share (as many as
    /// the machine has cores), and every other test, in any suite, waits behind it.
    static func start(_ process: Process) throws -> Task<Void, Never> {
        let (exits, exited) = AsyncStream.makeStream(of: Void.self)
        process.terminationHandler = { _ in exited.finish() }
        try process.run()
        return Task { for await _ in exits {} }
    }

    /// A database path in a fresh folder (no file there yet).
    static func temporaryDatabase() -> String {
        FileManager.default.temporaryDirectory.appending(path: "warden-cli-\(UUID().uuidString)/warden.db").path
    }

    /// A database that exists and holds nothing yet: made by a `warden run` whose server
    /// (`true`) exits at once.
    static func emptyDatabase() async throws -> String {
        let db = temporaryDatabase()
        let made = try await run(["run", "--policy", "examples/policies/time.yaml", "--db", db, "--", "true"])
        guard made.status == 0 else { throw SetupFailure(description: "warden run could not make \(db): \(made.stderr)") }
        return db
    }

    /// The environment of the tests without Warden's own variables, with `changes` applied
    /// (a `nil` value removes a variable).
    static func environment(_ changes: [String: String?] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["WARDEN_DB", "WARDEN_CONFIG", "WARDEN_ADMIN_TOKEN"] { environment[name] = nil }
        for (name, value) in changes { environment[name] = value }
        return environment
    }

    /// A database whose audit log holds one entry per call in `tools` (made by `warden run`
    /// in front of the echo fixture server, under `policy`), with the head file Warden keeps
    /// beside it.
    static func auditedDatabase(
        tools: [String], policy: String = "version: \"1\"\ndefault: allow\n", options: [String] = []
    ) async throws -> String {
        let db = temporaryDatabase()
        let policyFile = try temporaryFile("policy.yaml", policy)
        var lines = [
            #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ]
        for (index, tool) in tools.enumerated() {
            lines.append(#"{"jsonrpc":"2.0","id":\#(index + 1),"method":"tools/call","params":{"name":"\#(tool)","arguments":{}}}"#)
        }
        let made = try await run(
            ["run", "--policy", policyFile, "--db", db] + options + ["--", "python3", "tests/e2e/fixtures/echo_server.py"],
            input: lines.joined(separator: "\n") + "\n")
        guard made.status == 0 else { throw SetupFailure(description: "warden run could not fill \(db): \(made.stderr)") }
        return db
    }

    /// Runs SQL on the database at `path` (with Python's sqlite3 module: no SQLite tool needed).
    static func sql(_ statements: String, on path: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", path, statements]
        await (try Self.start(process)).value
        guard process.terminationStatus == 0 else { throw SetupFailure(description: "SQL failed on \(path): \(statements)") }
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
