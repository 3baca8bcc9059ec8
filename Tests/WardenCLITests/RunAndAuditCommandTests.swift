import Foundation
import Testing
import WardenJSON

/// `warden run` and `warden audit` through the built binary; the end-to-end tests in
/// tests/e2e drive them with real MCP clients and servers.
@Suite struct RunAndAuditCommandTests {
    @Test func runNeedsAServerCommand() async throws {
        let output = try await WardenBinary.run(["run", "--policy", "examples/policies/time.yaml"])
        #expect(output.status == 2)
        #expect(output.stderr.contains("Give the server command after --"))
    }

    @Test func runRefusesAnInvalidPolicyBeforeStartingTheServer() async throws {
        let policy = try WardenBinary.temporaryFile("bad.yaml", "tools:\n  t: {limts: []}\n")
        let marker = FileManager.default.temporaryDirectory.appending(path: "started-\(UUID().uuidString)").path
        let output = try await WardenBinary.run(["run", "--policy", policy, "--db", WardenBinary.temporaryDatabase(), "--", "touch", marker])
        #expect(output.status == 2)
        #expect(output.stderr.contains("unknown key \"limts\" at /tools/t — did you mean \"limits\"?"))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func runExitsWithTheServersStatus() async throws {
        for status in [0, 7] {
            let output = try await WardenBinary.run([
                "run", "--policy", "examples/policies/time.yaml", "--db", WardenBinary.temporaryDatabase(), "--", "sh", "-c", "exit \(status)",
            ])
            #expect(output.status == Int32(status))
        }
    }

    @Test func sigtermIsPassedOnToTheServer() async throws {
        let process = Process()
        process.executableURL = WardenBinary.url
        process.arguments = [
            "run", "--log-level", "info", "--policy", "examples/policies/time.yaml", "--db", WardenBinary.temporaryDatabase(), "--", "sleep", "30",
        ]
        process.currentDirectoryURL = WardenBinary.packageRoot
        process.standardInput = Pipe()
        let log = try WardenBinary.temporaryFile("stderr", "")
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        // Signal once the server runs (its handlers are installed right after it starts).
        let waitingSince = ContinuousClock.now
        while !(try String(contentsOfFile: log, encoding: .utf8)).contains("server started"), ContinuousClock.now - waitingSince < .seconds(20) {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        process.terminate()
        let started = ContinuousClock.now
        while process.isRunning && ContinuousClock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!process.isRunning, "warden run did not stop on SIGTERM")
        // sleep died of SIGTERM: warden exits with 128 + 15.
        #expect(process.terminationStatus == 143)
    }

    @Test func runReportsAServerThatCannotStart() async throws {
        let output = try await WardenBinary.run([
            "run", "--policy", "examples/policies/time.yaml", "--db", WardenBinary.temporaryDatabase(), "--", "no-such-server-\(UUID().uuidString)",
        ])
        #expect(output.status != 0)
    }

    @Test func commandsThatReadTheStateRefuseADatabaseThatIsNotThere() async throws {
        // A mistyped --db must not pass for an intact, empty audit log.
        let missing = WardenBinary.temporaryDatabase()
        for command in [
            ["audit", "verify"], ["audit", "tail"], ["audit", "query"], ["audit", "export", "--format", "jsonl"],
            ["approvals", "list"], ["grants", "list"], ["grants", "revoke", "g_x"], ["admins", "list"],
        ] {
            let output = try await WardenBinary.run(command + ["--db", missing])
            #expect(output.status == 2, "\(command)")
            #expect(output.stderr.contains("no Warden database at \(missing)"), "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func auditCommandsWorkOnAnEmptyLog() async throws {
        let db = try await WardenBinary.emptyDatabase()
        let verify = try await WardenBinary.run(["audit", "verify", "--db", db])
        #expect(verify.status == 0)
        #expect(verify.lines == [
            "audit log intact: 0 entries verified",
            "no checkpoint at \(db).audit-head.json: entries removed from the end of the log cannot be detected",
        ])
        let json = try await WardenBinary.run(["audit", "verify", "--db", db, "--format", "json"])
        #expect(
            try JSONReader.parse(json.stdout) == [
                "intact": true, "checked": 0, "head": ["seq": 0, "hash": .string(String(repeating: "0", count: 64))], "checkpoints": [],
            ])
        let tail = try await WardenBinary.run(["audit", "tail", "--db", db])
        #expect(tail.status == 0)
        #expect(tail.stdout.hasPrefix("SEQ"))
        let export = try await WardenBinary.run(["audit", "export", "--db", db, "--format", "jsonl"])
        #expect(export.status == 0 && export.stdout.isEmpty)
        let badSince = try await WardenBinary.run(["audit", "query", "--db", db, "--since", "yesterday"])
        #expect(badSince.status == 2)
        #expect(badSince.stderr.contains("--since takes a duration"))
    }

    @Test func anUnopenableDatabaseIsAClearError() async throws {
        let file = try WardenBinary.temporaryFile("not-a-db", "this is not SQLite")
        let output = try await WardenBinary.run(["audit", "verify", "--db", file])
        #expect(output.status == 2)
        #expect(output.stderr.contains("cannot open the database \(file)"))
    }
}

/// `warden grants` through the built binary.
@Suite struct GrantsCommandTests {
    @Test func createListRotateRevoke() async throws {
        let db = FileManager.default.temporaryDirectory.appending(path: "warden-cli-\(UUID().uuidString)/warden.db").path
        let created = try await WardenBinary.run([
            "grants", "create", "--db", db, "--label", "ci-agent", "--server", "time", "--policy", "examples/policies/time.yaml",
            "--identity-label", "team=ops", "--format", "json",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let grant = try JSONReader.parse(created.stdout)
        let id = try #require(grant["id"]?.stringValue)
        let token = try #require(grant["token"]?.stringValue)
        #expect(token.hasPrefix("wdn_"))
        #expect(grant["identity_labels"] == ["team": "ops"])

        let listed = try await WardenBinary.run(["grants", "list", "--db", db, "--format", "json"])
        #expect(!listed.stdout.contains(token), "tokens are never listed")
        #expect(try JSONReader.parse(listed.stdout)["id"] == .string(id))

        let rotated = try await WardenBinary.run(["grants", "rotate", "--db", db, id])
        #expect(rotated.status == 0)
        #expect(rotated.stdout.contains("token: wdn_"))
        #expect(!rotated.stdout.contains(token))

        #expect(try await WardenBinary.run(["grants", "revoke", "--db", db, id]).stdout == "grant \(id) revoked\n")
        #expect(try await WardenBinary.run(["grants", "list", "--db", db]).lines.count == 1)
        let again = try await WardenBinary.run(["grants", "revoke", "--db", db, id])
        #expect(again.status == 2)
        #expect(again.stderr.contains("no active grant \(id)"))
    }

    @Test func createRefusesAnInvalidPolicyOrMissingServer() async throws {
        let db = FileManager.default.temporaryDirectory.appending(path: "warden-cli-\(UUID().uuidString)/warden.db").path
        let noServer = try await WardenBinary.run(["grants", "create", "--db", db, "--label", "a", "--policy", "examples/policies/time.yaml"])
        #expect(noServer.status == 2)
        #expect(noServer.stderr.contains("Name at least one --server."))
        let policy = try WardenBinary.temporaryFile("bad.yaml", "default: maybe\n")
        let badPolicy = try await WardenBinary.run(["grants", "create", "--db", db, "--label", "a", "--server", "s", "--policy", policy])
        #expect(badPolicy.status == 2)
        #expect(badPolicy.stderr.contains("unknown value \"maybe\" at /default"))
    }
}

/// `warden config check` through the built binary.
@Suite struct ConfigCommandTests {
    @Test func checksTheExampleAndReportsProblems() async throws {
        let ok = try await WardenBinary.run(["config", "check", "examples/warden.yaml"])
        #expect(ok.status == 0)
        #expect(ok.stdout == "examples/warden.yaml: ok (listening on 127.0.0.1:8940; servers: time)\n")

        let bad = try WardenBinary.temporaryFile("warden.yaml", "listen: {prot: 1}\nservers:\n  s: {command: [x], policy: nope.yaml}\n")
        let text = try await WardenBinary.run(["config", "check", bad])
        #expect(text.status == 2)
        #expect(text.stdout.contains("unknown key \"prot\" at /listen — did you mean \"port\"?"))
        let json = try await WardenBinary.run(["config", "check", bad, "--format", "json"])
        let report = try JSONReader.parse(json.stdout)
        #expect(report["valid"] == false)
        #expect(report["problems"]?.arrayValue?.count == 2)
    }
}

/// `warden serve` refusals through the built binary (serving itself is tested end to end).
@Suite struct ServeCommandTests {
    @Test func serveNeedsAValidConfiguration() async throws {
        let missing = try await WardenBinary.run(["serve"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--config"))

        let bad = try WardenBinary.temporaryFile("warden.yaml", "listen: {prot: 1}\nservers:\n  s: {command: [x], policy: nope.yaml}\n")
        let invalid = try await WardenBinary.run(["serve", "--config", bad])
        #expect(invalid.status == 2)
        #expect(invalid.stderr.contains("unknown key \"prot\" at /listen"))
        #expect(invalid.stderr.contains("is not a valid gateway configuration"))
    }
}
