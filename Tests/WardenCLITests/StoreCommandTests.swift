import ArgumentParser
import Foundation
import Testing
import WardenJSON
import WardenStore

@testable import WardenCLI

/// `--db` as a URL, and `warden store migrate` between SQLite files (sqlite→postgres is in
/// tests/e2e/test_store_cli.py, against a throwaway cluster).
@Suite struct StoreCommandTests {
    @Test func dbTakesAPathSQLiteColonPathOrAPostgresURL() throws {
        #expect(try DatabaseOptions.configuration("state/warden.db", option: "--db") == .sqlite(path: "state/warden.db"))
        #expect(try DatabaseOptions.configuration("sqlite:/var/lib/w.db", option: "--db") == .sqlite(path: "/var/lib/w.db"))
        let url = "postgres://warden:pw@db:6432/state?sslmode=require"
        #expect(try DatabaseOptions.configuration(url, option: "--db") == .postgres(try PostgresConfiguration(url: url)))
        #expect(try DatabaseOptions.configuration("postgresql://u@h/d", option: "--db") == .postgres(try PostgresConfiguration(url: "postgresql://u@h/d")))
        for bad in ["mysql://u@h/d", "sqlite:", "postgres://db/x", "postgres://u:secretpw@h:0/d", "postgres://u@h/d?sslmode=maybe"] {
            #expect(throws: ValidationError.self, "\(bad)") { try DatabaseOptions.configuration(bad, option: "--db") }
        }
        do {
            _ = try DatabaseOptions.configuration("postgres://u:secretpw@h:0/d", option: "--db")
        } catch let error as ValidationError {
            #expect(error.message.hasPrefix("--db: invalid PostgreSQL URL") && !error.message.contains("secretpw"), "\(error.message)")
        }
    }

    @Test func aBadURLExitsTwoWhereverDBIsTaken() async throws {
        for command in [["audit", "verify"], ["grants", "list"], ["approvals", "list"], ["admins", "list"], ["audit", "tail"]] {
            let flag = try await WardenBinary.run(command + ["--db", "postgres://warden:hunter2@db:0/x"])
            #expect(flag.status == 2, "\(command)")
            #expect(flag.stderr.contains("--db: invalid PostgreSQL URL: port 0 is out of range"), "\(command): \(flag.stderr)")
            #expect(!flag.stderr.contains("hunter2"))
            let variable = try await WardenBinary.run(command, environment: WardenBinary.environment(["WARDEN_DB": "postgres://db/x"]))
            #expect(variable.status == 2 && variable.stderr.contains("$WARDEN_DB: invalid PostgreSQL URL: no user name"), "\(command): \(variable.stderr)")
            #expect(try await WardenBinary.run(command + ["--help"]).stdout.contains("postgres://"), "\(command) --help")
        }
        let unknown = try await WardenBinary.run(["grants", "list", "--db", "mongodb://h/x"])
        #expect(unknown.status == 2 && unknown.stderr.contains("mongodb:// is not a store Warden knows"), "\(unknown.stderr)")
    }

    @Test func sqliteColonPathWorksLikeThePath() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo"])
        let verified = try await WardenBinary.run(["audit", "verify", "--db", "sqlite:" + db])
        #expect(verified.status == 0 && verified.lines.first == "audit log intact: 2 entries verified", "\(verified.stderr)")
    }

    /// A database with two entries, a grant, a revoked grant, an admin token and an approval.
    func filledDatabase() async throws -> (db: String, token: String) {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo", "echo"])
        let create = ["grants", "create", "--db", db, "--server", "time", "--policy", "examples/policies/time.yaml", "--format", "json"]
        let kept = try await WardenBinary.run(create + ["--label", "kept", "--identity-label", "team=infra"])
        let token = try #require(try JSONReader.parse(kept.stdout)["token"]?.stringValue)
        let revoked = try await WardenBinary.run(create + ["--label", "gone"])
        let id = try #require(try JSONReader.parse(revoked.stdout)["id"]?.stringValue)
        #expect(try await WardenBinary.run(["grants", "revoke", id, "--db", db]).status == 0)
        #expect(try await WardenBinary.run(["admins", "create", "--db", db, "--name", "alice", "--role", "approver"]).status == 0)
        return (db, token)
    }

    @Test func migrateCopiesSQLiteToSQLiteAndTheCopyVerifies() async throws {
        let (source, _) = try await filledDatabase()
        let destination = WardenBinary.temporaryDatabase()
        let migrated = try await WardenBinary.run(["store", "migrate", "--from", "sqlite:" + source, "--to", destination, "--batch-size", "2", "--format", "json"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let summary = try JSONReader.parse(migrated.stdout)
        #expect(summary["verified"] == .bool(true))
        #expect(summary["copied"]?["grants"] == .number(JSONNumber(2)) && summary["copied"]?["admin_tokens"] == .number(JSONNumber(1)))
        #expect(summary["copied"]?["audit_entries"] == .number(JSONNumber(3)))
        #expect(summary["head"] == summary["source_head"])
        #expect(summary["checkpoints"] == .number(JSONNumber(1)), "the source's head file was checked")
        #expect(migrated.stderr.contains("audit log: 2/3 entries copied") && migrated.stderr.contains("audit log: 3/3 entries copied"), "\(migrated.stderr)")

        for command in [["grants", "list", "--all"], ["admins", "list", "--all"], ["audit", "export"]] {
            let (before, after) = (try await WardenBinary.run(command + ["--db", source]), try await WardenBinary.run(command + ["--db", destination]))
            #expect(before.status == 0 && before.stdout == after.stdout, "\(command)")
        }
        let verified = try await WardenBinary.run(["audit", "verify", "--db", destination])
        #expect(verified.status == 0 && verified.stdout.contains("audit log intact: 3 entries verified"), "\(verified.stdout)")
        #expect(verified.stdout.contains("entry 3 matches the checkpoint"), "the copy got its own head file: \(verified.stdout)")

        // Again into the same destination: refused, nothing copied.
        let again = try await WardenBinary.run(["store", "migrate", "--from", source, "--to", destination])
        #expect(again.status == 2)
        #expect(again.stderr.contains("the destination already holds 2 grants, 1 admin token, 0 approvals, 3 audit entries"), "\(again.stderr)")
        #expect(try await WardenBinary.run(["audit", "verify", "--db", destination]).stdout.contains("3 entries verified"))
    }

    @Test func migrateRefusesWhatItCannotDo() async throws {
        let missing = WardenBinary.temporaryDatabase()
        let noSource = try await WardenBinary.run(["store", "migrate", "--from", missing, "--to", WardenBinary.temporaryDatabase()])
        #expect(noSource.status == 2 && noSource.stderr.contains("no Warden database at \(missing)"), "\(noSource.stderr)")
        let same = try await WardenBinary.run(["store", "migrate", "--from", missing, "--to", "sqlite:" + missing])
        #expect(same.status == 2 && same.stderr.contains("name the same store"), "\(same.stderr)")
        let badURL = try await WardenBinary.run(["store", "migrate", "--from", missing, "--to", "postgres://nobody"])
        #expect(badURL.status == 2 && badURL.stderr.contains("--to: invalid PostgreSQL URL"), "\(badURL.stderr)")
        let help = try await WardenBinary.run(["store", "migrate", "--help"]).stdout
        #expect(help.contains("--from <path-or-url>") && help.contains("verbatim") && help.contains("Exit codes"), "\(help)")
        #expect(try await WardenBinary.run(["store", "--help"]).stdout.contains("migrate"))
    }

    @Test func aTamperedSourceIsCopiedButExitsOne() async throws {
        let (source, _) = try await filledDatabase()
        try await WardenBinary.sql("UPDATE audit SET record = replace(record, '\"allow\"', '\"deny\"') WHERE seq = 2", on: source)
        let destination = WardenBinary.temporaryDatabase()
        let migrated = try await WardenBinary.run(["store", "migrate", "--from", source, "--to", destination])
        #expect(migrated.status == 1, "\(migrated.stdout)\(migrated.stderr)")
        #expect(migrated.stdout.contains("audit log BROKEN at the destination, entry 2"), "\(migrated.stdout)")
    }
}
