import Foundation
import Testing
import WardenJSON

/// `warden audit verify` against tampering that leaves the hash chain linked: a cut of the
/// newest entries, and edited copies of the record's fields in the columns queries use.
@Suite struct AuditVerifyCommandTests {
    static let allowAll = "version: \"1\"\ndefault: allow\n"
    static let denyCrash = "version: \"1\"\ndefault: allow\ntools:\n  crash: {action: deny, reason: no crashing}\n"

    func verify(_ db: String, _ options: [String] = []) async throws -> WardenBinary.Output {
        try await WardenBinary.run(["audit", "verify", "--db", db] + options)
    }

    @Test func aCutTailIsFoundThroughTheHeadFileBesideTheDatabase() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: Array(repeating: "echo", count: 5))
        let head = db + ".audit-head.json"
        #expect(FileManager.default.fileExists(atPath: head), "warden run keeps a checkpoint beside the database")
        let intact = try await verify(db)
        #expect(intact.status == 0, "\(intact.stdout)\(intact.stderr)")
        #expect(intact.lines.first == "audit log intact: 5 entries verified")
        #expect(intact.stdout.contains("entry 5 matches the checkpoint of "))

        // The newest entries deleted with plain SQL: the chain that is left still links up.
        try await WardenBinary.sql("DELETE FROM audit WHERE seq > 3", on: db)
        let cut = try await verify(db)
        #expect(cut.status == 1)
        #expect(cut.stdout.hasPrefix("audit log BROKEN at entry 4: the log ends at entry 3, but the checkpoint of "), "\(cut.stdout)")
        #expect(cut.stdout.contains("recorded entry 5: entries 4–5 were removed"))

        let json = try await JSONReader.parse(try verify(db, ["--format", "json"]).stdout)
        #expect(json["intact"] == false && json["first_broken"] == 4)
    }

    @Test func aCopyOfTheCheckpointCatchesTheCutWhenTheHeadFileIsGoneToo() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo", "echo"])
        let copy = try WardenBinary.temporaryFile("head-copy.json", try String(contentsOfFile: db + ".audit-head.json", encoding: .utf8))
        try await WardenBinary.sql("DELETE FROM audit WHERE seq = 3", on: db)
        try FileManager.default.removeItem(atPath: db + ".audit-head.json")
        let unguarded = try await verify(db)
        #expect(unguarded.status == 0)
        #expect(unguarded.stdout.contains("no checkpoint at \(db).audit-head.json: entries removed from the end of the log cannot be detected"))
        let guarded = try await verify(db, ["--checkpoint", copy])
        #expect(guarded.status == 1)
        #expect(guarded.stdout.hasPrefix("audit log BROKEN at entry 3: the log ends at entry 2"), "\(guarded.stdout)")
        let missing = try await verify(db, ["--checkpoint", copy + ".nope"])
        #expect(missing.status == 2 && missing.stderr.contains("cannot read the checkpoint"))
    }

    @Test func theCheckpointLineInWardensLogIsACheckpoint() async throws {
        let db = WardenBinary.temporaryDatabase()
        let policy = try WardenBinary.temporaryFile("policy.yaml", Self.allowAll)
        let ran = try await WardenBinary.run(
            ["run", "--policy", policy, "--db", db, "--", "python3", "tests/e2e/fixtures/echo_server.py"],
            input: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"# + "\n")
        #expect(ran.stderr.contains("audit checkpoint"), "\(ran.stderr)")
        let log = try WardenBinary.temporaryFile("warden.log", ran.stderr)
        try FileManager.default.removeItem(atPath: db + ".audit-head.json")
        try await WardenBinary.sql("DELETE FROM audit", on: db)
        let cut = try await verify(db, ["--checkpoint", log])
        #expect(cut.status == 1 && cut.stdout.contains("entry 1 was removed"), "\(cut.stdout)")
    }

    @Test func aLogRewrittenAfterTheCutIsFound() async throws {
        // Entries cut and new ones written after: the chain links, the counts fit, but the
        // checkpoint's entry has another hash, and Warden keeps the old head file as evidence.
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo", "echo"])
        let head = try String(contentsOfFile: db + ".audit-head.json", encoding: .utf8)
        try await WardenBinary.sql("DELETE FROM audit WHERE seq > 1", on: db)
        let policy = try WardenBinary.temporaryFile("policy.yaml", Self.allowAll)
        let again = try await WardenBinary.run(
            ["run", "--policy", policy, "--db", db, "--", "python3", "tests/e2e/fixtures/echo_server.py"],
            input: (2...4).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"tools/call","params":{"name":"echo","arguments":{}}}"# }
                .joined(separator: "\n") + "\n")
        #expect(again.stderr.contains("the audit log no longer holds entry 3"), "\(again.stderr)")
        #expect(try String(contentsOfFile: db + ".audit-head.json", encoding: .utf8) == head)
        let rewritten = try await verify(db)
        #expect(rewritten.status == 1)
        #expect(rewritten.stdout.hasPrefix("audit log BROKEN at entry 3: its hash differs from the one the checkpoint of"), "\(rewritten.stdout)")
    }

    @Test func signedCheckpointsNeedTheKey() async throws {
        let key = try WardenBinary.temporaryFile("key", "0123456789abcdef0123456789abcdef\n")
        let other = try WardenBinary.temporaryFile("other-key", "fedcba9876543210fedcba9876543210\n")
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo"], options: ["--audit-checkpoint-key", key])
        let head = db + ".audit-head.json"
        #expect(try String(contentsOfFile: head, encoding: .utf8).contains("\"signature\":\"hmac-sha256:"))
        let good = try await verify(db, ["--checkpoint-key", key])
        #expect(good.status == 0 && good.stdout.contains("(signature valid)"), "\(good.stdout)")
        let wrongKey = try await verify(db, ["--checkpoint-key", other])
        #expect(wrongKey.status == 1 && wrongKey.stdout.contains("checkpoint NOT TRUSTED:"), "\(wrongKey.stdout)")

        // Whoever cuts the log and rewrites the head file to match cannot sign it.
        try await WardenBinary.sql("DELETE FROM audit WHERE seq = 2", on: db)
        let firstHash = try #require(
            try JSONReader.parse(try await WardenBinary.run(["audit", "export", "--db", db, "--format", "jsonl"]).stdout)["hash"]?.stringValue)
        try #"{"warden_audit_checkpoint":1,"seq":1,"hash":"\#(firstHash)","time":"2026-01-01T00:00:00.000Z"}"#
            .write(toFile: head, atomically: true, encoding: .utf8)
        #expect(try await verify(db).status == 0, "without the key, a forged head file goes unnoticed")
        let forged = try await verify(db, ["--checkpoint-key", key])
        #expect(forged.status == 1 && forged.stdout.contains("is not signed with the key in \(key)"), "\(forged.stdout)")
        let short = try await verify(db, ["--checkpoint-key", try WardenBinary.temporaryFile("short", "abc")])
        #expect(short.status == 2 && short.stderr.contains("at least 16 bytes"))
    }

    @Test func anEditedDecisionColumnIsFoundAndDoesNotHideTheEntryFromQueries() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "crash", "echo"], policy: Self.denyCrash)
        func sequences(_ decision: String) async throws -> [JSONValue?] {
            try await WardenBinary.run(["audit", "query", "--db", db, "--decision", decision, "--format", "json"]).lines.map {
                try JSONReader.parse($0)["seq"]
            }
        }
        let denied = try await sequences("deny")
        try #require(denied.count == 1)
        let seq = try #require(denied[0]?.numberValue?.text)

        // The copy of the decision that queries narrow by is edited; the hashed record is not.
        try await WardenBinary.sql("UPDATE audit SET decision = 'allow' WHERE seq = \(seq)", on: db)
        #expect(try await sequences("deny") == denied, "queries read the hashed record")
        let allowed = try await sequences("allow")
        #expect(allowed.count == 2 && !allowed.contains(denied[0]))
        let broken = try await verify(db)
        #expect(broken.status == 1)
        #expect(
            broken.stdout.hasPrefix(#"audit log BROKEN at entry \#(seq): its decision column says "allow" but its hashed record says "deny""#),
            "\(broken.stdout)")
        let json = try await JSONReader.parse(try verify(db, ["--format", "json"]).stdout)
        #expect(json["first_broken"]?.numberValue?.text == seq && json["column"] == "decision")
    }

    @Test func everyCopiedColumnIsChecked() async throws {
        let db = try await WardenBinary.auditedDatabase(tools: ["echo", "echo"])
        for (column, value) in [("tool", "'other'"), ("identity", "'mallory'"), ("time", "'2020-01-01T00:00:00.000Z'"), ("tool", "NULL")] {
            let copy = WardenBinary.temporaryDatabase()
            try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: db + suffix) {
                try FileManager.default.copyItem(atPath: db + suffix, toPath: copy + suffix)
            }
            try await WardenBinary.sql("UPDATE audit SET \(column) = \(value) WHERE seq = 1", on: copy)
            let broken = try await verify(copy)
            #expect(broken.status == 1 && broken.stdout.hasPrefix("audit log BROKEN at entry 1: its \(column) column says"), "\(column): \(broken.stdout)")
        }
    }
}
