import Foundation

/// A PostgreSQL cluster of one test's own, started with `scripts/lib/postgres.sh`, for tests
/// that stop and start the server (which the shared test cluster must not do).
struct PrivateCluster: Sendable {
    /// The superuser's URL.
    var url: String
    private var environment: [String: String]

    private static let script = URL(filePath: #filePath).deletingLastPathComponent()
        .appending(path: "../../../scripts/lib/postgres.sh").standardized.path

    /// Starts a new cluster.
    static func start() async throws -> PrivateCluster {
        let output = try await run("start_test_postgres > /dev/null && env | grep '^WARDEN_TEST_POSTGRES_'", environment: [:])
        var environment: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { environment[parts[0]] = parts[1] }
        }
        guard let url = environment["WARDEN_TEST_POSTGRES_URL"] else {
            throw StoreTestError("the private cluster did not say its URL: \(output)")
        }
        return PrivateCluster(url: url, environment: environment)
    }

    /// Stops the server (immediately, as a crash would), keeping its data and port.
    func pause() async throws { _ = try await Self.run("pause_test_postgres", environment: environment) }

    /// Starts the server again on the same port.
    func resume() async throws { _ = try await Self.run("resume_test_postgres", environment: environment) }

    /// Stops the server's processes with SIGSTOP: connections stay open and nothing answers.
    func freeze() async throws { _ = try await Self.run("freeze_test_postgres", environment: environment) }

    /// Lets the server's processes run again.
    func thaw() async throws { _ = try await Self.run("thaw_test_postgres", environment: environment) }

    /// Stops the server and deletes its folder.
    func stop() async throws { _ = try await Self.run("stop_test_postgres", environment: environment) }

    /// Runs `command` after sourcing the script, without blocking a thread of the pool: its
    /// output goes to a file (a pipe would stay open in the server it starts).
    private static func run(_ command: String, environment: [String: String]) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appending(path: "warden-cluster-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(filePath: "/bin/bash")
        process.arguments = ["-c", "set -e; source '\(script)'; { \(command); } > '\(output.path)'"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let status = try await exitStatus(of: process)
        guard status == 0 else { throw StoreTestError("postgres.sh \(command) failed with status \(status)") }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }
}

/// Waits for child `pid` to end, looking every 50 ms (for at most two minutes), and returns its
/// exit status. (Foundation's `Process` did not see its children end inside the test process.)
private func exitStatus(of process: Process) async throws -> Int32 {
    let pid = process.processIdentifier
    for _ in 0..<2400 {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return (status >> 8) & 0xFF }
        // Reaped by Foundation: it has the status.
        if result < 0, !process.isRunning { return process.terminationStatus }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw StoreTestError("postgres.sh did not finish within two minutes")
}

/// A test's own failure, with what went wrong.
struct StoreTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
