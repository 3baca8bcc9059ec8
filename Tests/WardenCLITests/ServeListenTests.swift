import ArgumentParser
import Foundation
import Testing
import WardenGateway

@testable import WardenCLI

/// `warden serve --host H --port N`: several instances from one configuration file.
@Suite struct ServeListenTests {
    @Test func hostAndPortParseAndOverrideListen() throws {
        let command = try #require(
            try Warden.parseAsRoot(["serve", "--config", "c.yaml", "--host", "::1", "--port", "0"]) as? ServeCommand)
        #expect(command.host == "::1" && command.port == 0)
        var configured = GatewayConfiguration.Listen()
        configured.host = "10.0.0.5"
        configured.port = 8940
        configured.allowedOrigins = ["https://a.example"]
        let listen = try ServeCommand.listen(configured, host: command.host, port: command.port)
        #expect(listen.host == "::1" && listen.port == 0)
        #expect(listen.allowedOrigins == ["https://a.example"], "only the address changes")
        #expect(try ServeCommand.listen(configured, host: nil, port: 9000) == { var l = configured; l.port = 9000; return l }())
        #expect(try ServeCommand.listen(configured, host: nil, port: nil) == configured)
    }

    @Test func badValuesAreUsageErrors() {
        for arguments in [["--port", "70000"], ["--port", "-1"], ["--port", "http"], ["--host", ""], ["--db", "mysql://x/y"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try Warden.parseAsRoot(["serve", "--config", "c.yaml"] + arguments) }
        }
    }

    @Test func anonymousModeStaysOnLoopback() throws {
        var anonymous = GatewayConfiguration.Listen()
        anonymous.anonymous = true
        #expect(try ServeCommand.listen(anonymous, host: "localhost", port: 1234).port == 1234)
        #expect(throws: ExitCode.self) { try ServeCommand.listen(anonymous, host: "0.0.0.0", port: nil) }
    }

    @Test func helpNamesTheOverrides() async throws {
        let help = try await WardenBinary.run(["serve", "--help"]).stdout
        #expect(help.contains("--host <address>") && help.contains("--port <port>"), "\(help)")
        #expect(help.contains("listen.port;") && help.contains("listen.host."), "\(help)")
        #expect(help.contains("postgres://"))
    }

    /// Two instances run from one file whose own address is not this machine's: each listens
    /// where its flags say, and answers there.
    @Test func twoInstancesFromOneConfigurationListenWhereTold() async throws {
        let policy = WardenBinary.packageRoot.appending(path: "examples/policies/time.yaml").path
        let config = try WardenBinary.temporaryFile(
            "warden.yaml",
            """
            version: "1"
            listen: {host: 192.0.2.1, port: 8940}
            store: {sqlite: warden.db}
            servers:
              time: {command: [mcp-server-time], policy: \(policy)}
            """)
        let first = try ServeProcess(config: config, arguments: ["--host", "127.0.0.1", "--port", "0"])
        defer { first.stop() }
        let second = try ServeProcess(config: config, arguments: ["--host", "127.0.0.1", "--port", "0"])
        defer { second.stop() }
        let (a, b) = (try await first.address(), try await second.address())
        #expect(a.hasPrefix("http://127.0.0.1:") && b.hasPrefix("http://127.0.0.1:"))
        #expect(a != b)
        for base in [a, b] {
            #expect(try await ServeProcess.get(base + "/healthz") == 200, "\(base)")
        }
        // Without the flags, the file's address is used: not one of this machine's.
        let unchanged = try await WardenBinary.run(["serve", "--config", config], timeout: 20)
        #expect(unchanged?.status == 2)
        #expect(unchanged?.stderr.contains("192.0.2.1") == true, "\(unchanged?.stderr ?? "still running")")
    }
}

/// A `warden serve` process, its log in a file.
final class ServeProcess {
    let process: Process
    let log: String

    /// Starts `warden serve` with `--config config` (none when `nil`) and `arguments`.
    init(config: String?, arguments: [String], environment: [String: String?] = [:]) throws {
        let process = Process()
        process.executableURL = WardenBinary.url
        process.arguments = ["serve"] + (config.map { ["--config", $0] } ?? []) + arguments
        process.environment = WardenBinary.environment(environment)
        process.currentDirectoryURL = WardenBinary.packageRoot
        process.standardInput = FileHandle.nullDevice
        log = try WardenBinary.temporaryFile("stderr", "")
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        self.process = process
    }

    /// The log so far.
    var text: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// `http://host:port` once the gateway says it is listening; fails after 60 seconds (a
    /// starved debug build can take that long to start) or if it exits.
    func address() async throws -> String {
        let started = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - started < .seconds(60) {
            if let range = text.range(of: #"listening on http://[0-9.:\[\]]+"#, options: .regularExpression) {
                return String(text[range].dropFirst("listening on ".count))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WardenBinary.SetupFailure(description: "warden serve did not start: \(text)")
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// The HTTP status of a GET (with Python's urllib: no HTTP client in the test target).
    static func get(_ url: String) async throws -> Int {
        let output = try WardenBinary.temporaryFile("status", "")
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c",
            "import sys, urllib.request\ntry:\n  print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\nexcept Exception as e:\n  print(getattr(e, 'code', 0))",
            url,
        ]
        python.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        await (try WardenBinary.start(python)).value
        return Int(try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
