import Foundation
import Testing
import WardenJSON

/// What a new user meets at the command line: one JSON shape for every list, the WARDEN_DB
/// and WARDEN_CONFIG variables, grants checked against the configuration, wording.
@Suite struct CommandLineTests {
    /// Each line of `output` as a JSON object (JSON lines); fails the test for any other shape.
    func jsonLines(_ output: WardenBinary.Output, sourceLocation: SourceLocation = #_sourceLocation) throws -> [JSONValue] {
        try output.lines.map { line in
            let value = try JSONReader.parse(line)
            #expect(value.objectValue != nil, "not an object per line: \(output.stdout)", sourceLocation: sourceLocation)
            return value
        }
    }

    /// Stores a pending approval as a gateway on another host holds it, and returns its id.
    func pendingApproval(in db: String, id: String = "a_test\(Int.random(in: 1000...9999))") async throws -> String {
        let now = Date()
        let time = { (date: Date) in date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        try await WardenBinary.sql(
            """
            INSERT INTO approval (id, server, tool, identity, grant_id, session, request_id, arguments, rule, message, approvers,
                holder, created_at, expires_at, status)
            VALUES ('\(id)', 'time', 'convert_time', 'agent', NULL, 's1', '1', '{}', '/tools/convert_time', 'held', '[]',
                '1@another-host', '\(time(now))', '\(time(now.addingTimeInterval(600)))', 'pending');
            """, on: db)
        return id
    }

    @Test func everyListPrintsOneJSONObjectPerLine() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo"])
        _ = try await pendingApproval(in: db)
        _ = try await pendingApproval(in: db)
        #expect(try await WardenBinary.run(["grants", "create", "--db", db, "--label", "a", "--server", "time", "--policy", "examples/policies/time.yaml"]).status == 0)
        #expect(try await WardenBinary.run(["grants", "create", "--db", db, "--label", "b", "--server", "time", "--policy", "examples/policies/time.yaml"]).status == 0)
        #expect(try await WardenBinary.run(["admins", "create", "--db", db, "--name", "alice", "--role", "viewer"]).status == 0)
        #expect(try await WardenBinary.run(["admins", "create", "--db", db, "--name", "bob", "--role", "admin"]).status == 0)
        for command in [
            ["approvals", "list"], ["audit", "query"], ["audit", "tail"], ["grants", "list"], ["admins", "list"],
        ] {
            let output = try await WardenBinary.run(command + ["--db", db, "--format", "json"])
            #expect(output.status == 0, "\(command): \(output.stderr)")
            #expect(try jsonLines(output).count == 2, "\(command): \(output.stdout)")
        }
        let none = try await WardenBinary.run(["approvals", "list", "--status", "denied", "--db", db, "--format", "json"])
        #expect(none.status == 0 && none.stdout.isEmpty, "no approvals: no lines")
    }

    @Test func wardenDBStandsInForDashDashDB() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo"])
        let missing = WardenBinary.temporaryDatabase()
        let fromEnvironment = try await WardenBinary.run(["audit", "verify"], environment: WardenBinary.environment(["WARDEN_DB": db]))
        #expect(fromEnvironment.status == 0 && fromEnvironment.lines.first == "audit log intact: 1 entries verified", "\(fromEnvironment.stderr)")
        // The flag wins over the variable.
        let flagWins = try await WardenBinary.run(["audit", "verify", "--db", missing], environment: WardenBinary.environment(["WARDEN_DB": db]))
        #expect(flagWins.status == 2 && flagWins.stderr.contains("no Warden database at \(missing)"))
        let approvals = try await WardenBinary.run(["approvals", "list"], environment: WardenBinary.environment(["WARDEN_DB": missing]))
        #expect(approvals.status == 2 && approvals.stderr.contains("no Warden database at \(missing); give --db (or $WARDEN_DB)"))
        for command in [["audit", "verify"], ["approvals", "list"], ["grants", "list"], ["admins", "list"], ["run"], ["grants", "create"]] {
            let help = try await WardenBinary.run(command + ["--help"])
            #expect(help.stdout.contains("$WARDEN_DB"), "\(command) --help names $WARDEN_DB")
        }
    }

    /// A configuration serving `time` (the example policy), with its database beside it.
    func configuration() throws -> (config: String, db: String) {
        let policy = WardenBinary.packageRoot.appending(path: "examples/policies/time.yaml").path
        let config = try WardenBinary.temporaryFile(
            "warden.yaml",
            """
            version: "1"
            listen: {host: 127.0.0.1, port: 0}
            store: {sqlite: state/warden.db}
            servers:
              time: {command: [mcp-server-time], policy: \(policy)}
            """)
        return (config, URL(fileURLWithPath: config).deletingLastPathComponent().appending(path: "state/warden.db").path)
    }

    @Test func grantsCreateChecksServersAgainstTheConfiguration() async throws {
        let (config, configDB) = try configuration()
        let db = WardenBinary.temporaryDatabase()
        let create = ["grants", "create", "--label", "agent", "--policy", "examples/policies/time.yaml"]
        let unknown = try await WardenBinary.run(create + ["--config", config, "--db", db, "--server", "time", "--server", "nosuchserver"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("\(config) has no server \"nosuchserver\"; it serves time"), "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db), "nothing was created")

        let fromEnvironment = try await WardenBinary.run(
            create + ["--db", db, "--server", "nosuchserver"], environment: WardenBinary.environment(["WARDEN_CONFIG": config]))
        #expect(fromEnvironment.status == 2 && fromEnvironment.stderr.contains("has no server \"nosuchserver\""))

        // Known servers pass, and the database defaults to the configuration's store.sqlite.
        let known = try await WardenBinary.run(create + ["--server", "time", "--format", "json"], environment: WardenBinary.environment(["WARDEN_CONFIG": config]))
        #expect(known.status == 0, "\(known.stderr)")
        let listed = try await WardenBinary.run(["grants", "list", "--db", configDB, "--format", "json"])
        #expect(try jsonLines(listed).map { $0["label"] } == ["agent"])

        let badConfig = try WardenBinary.temporaryFile("bad.yaml", "listen: {prot: 1}\n")
        let invalid = try await WardenBinary.run(create + ["--config", badConfig, "--db", db, "--server", "time"])
        #expect(invalid.status == 2 && invalid.stderr.contains("is not a valid gateway configuration"))
        #expect(try await WardenBinary.run(["grants", "create", "--help"]).stdout.contains("$WARDEN_CONFIG"))
    }

    @Test func wardenConfigStandsInForDashDashConfig() async throws {
        let (config, _) = try configuration()
        let check = try await WardenBinary.run(["config", "check"], environment: WardenBinary.environment(["WARDEN_CONFIG": config]))
        #expect(check.status == 0 && check.stdout.hasPrefix("\(config): ok"), "\(check.stdout)\(check.stderr)")
        let neither = try await WardenBinary.run(["config", "check"])
        #expect(neither.status == 2 && neither.stderr.contains("$WARDEN_CONFIG"))
        let serve = try await WardenBinary.run(["serve"])
        #expect(serve.status == 2 && serve.stderr.contains("--config") && serve.stderr.contains("$WARDEN_CONFIG"))
        let bad = try WardenBinary.temporaryFile("bad.yaml", "listen: {prot: 1}\n")
        // The flag wins over the variable.
        let flagWins = try await WardenBinary.run(["config", "check", bad], environment: WardenBinary.environment(["WARDEN_CONFIG": config]))
        #expect(flagWins.status == 2)
        for command in [["serve"], ["config", "check"]] {
            #expect(try await WardenBinary.run(command + ["--help"]).stdout.contains("$WARDEN_CONFIG"), "\(command)")
        }
    }

    @Test func serveReadsBothVariablesAndTheAdminAPIUsesTheRightArticle() async throws {
        let (config, configDB) = try configuration()
        let db = WardenBinary.temporaryDatabase()
        let created = try await WardenBinary.run(["admins", "create", "--db", db, "--name", "alice", "--role", "approver", "--format", "json"])
        let token = try #require(try JSONReader.parse(created.stdout)["token"]?.stringValue)

        // Neither --config nor --db: both come from the environment.
        let serve = try ServeProcess(config: nil, arguments: [], environment: ["WARDEN_CONFIG": config, "WARDEN_DB": db])
        defer { serve.stop() }
        let url = try await serve.address()
        #expect(serve.text.contains("db=\(db)"), "WARDEN_DB wins over store.sqlite")
        #expect(!FileManager.default.fileExists(atPath: configDB))

        // An approver asking for what only an admin may do.
        let post = Process()
        let output = Pipe()
        post.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        post.arguments = [
            "python3", "-c",
            """
            import sys, urllib.request, urllib.error
            request = urllib.request.Request(sys.argv[1] + "/admin/api/policies/reload", method="POST", data=b"{}",
                                             headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as error:
                print(error.code, error.read().decode())
            """,
            url, token,
        ]
        post.standardOutput = output
        await (try WardenBinary.start(post)).value
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(answer.hasPrefix("403"), "\(answer)")
        #expect(answer.contains("alice is an approver; this needs the admin role"), "\(answer)")
    }

    @Test func theApproverDefaultsToUserElseTheAccountName() async throws {
        let db = try await WardenBinary.emptyDatabase()
        let first = try await pendingApproval(in: db)
        let second = try await pendingApproval(in: db)
        let withUser = try await WardenBinary.run(
            ["approvals", "approve", first, "--db", db, "--format", "json"], environment: WardenBinary.environment(["USER": "carol"]))
        #expect(try JSONReader.parse(withUser.stdout)["decided_by"] == "carol", "\(withUser.stdout)\(withUser.stderr)")

        let account = Process()
        let output = Pipe()
        account.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        account.arguments = ["id", "-un"]
        account.standardOutput = output
        await (try WardenBinary.start(account)).value
        let name = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let withoutUser = try await WardenBinary.run(
            ["approvals", "deny", second, "--db", db, "--format", "json"], environment: WardenBinary.environment(["USER": nil]))
        #expect(withoutUser.status == 0, "\(withoutUser.stderr)")
        #expect(try JSONReader.parse(withoutUser.stdout)["decided_by"] == .string(name), "not \"cli\": \(withoutUser.stdout)")
        let help = try await WardenBinary.run(["approvals", "approve", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("default: $USER, else the name of your account"), "\(help)")
    }

    @Test func theURLHelpNamesTheDefaultPort() async throws {
        let help = try await WardenBinary.run(["approvals", "list", "--help"]).stdout
        #expect(help.contains("http://gateway:8940") && !help.contains("8080"), "\(help)")
    }
}
