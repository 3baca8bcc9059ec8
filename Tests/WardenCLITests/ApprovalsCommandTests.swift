import Foundation
import Testing

@Suite struct ApprovalsCommandTests {
    @Test func anEmptyDatabaseHasNoApprovalsAndUnknownIdsExitTwo() async throws {
        let db = try await WardenBinary.emptyDatabase()
        let listed = try await WardenBinary.run(["approvals", "list", "--db", db])
        #expect(listed.status == 0 && listed.stdout == "no pending approvals\n")
        let json = try await WardenBinary.run(["approvals", "list", "--status", "all", "--db", db, "--format", "json"])
        #expect(json.status == 0 && json.stdout.isEmpty, "JSON lines: none for no approvals")
        let unknown = try await WardenBinary.run(["approvals", "approve", "a_nothing", "--db", db])
        #expect(unknown.status == 2 && unknown.stderr.contains("no approval a_nothing; `warden approvals list` shows them"))
    }

    @Test func usageMistakesExitTwoAndSayWhatToDo() async throws {
        let status = try await WardenBinary.run(["approvals", "list", "--status", "maybe", "--db", WardenBinary.temporaryDatabase()])
        #expect(status.status == 2 && status.stderr.contains("--status must be pending, approved, denied, expired, cancelled or all"))
        let noToken = try await WardenBinary.run(["approvals", "list", "--url", "http://127.0.0.1:1"])
        #expect(noToken.status == 2 && noToken.stderr.contains("--url needs an admin token"))
        let unreachable = try await WardenBinary.run(["approvals", "list", "--url", "http://127.0.0.1:1", "--token", "wda_x"])
        #expect(unreachable.status == 2 && unreachable.stderr.contains("cannot reach http://127.0.0.1:1"))
    }

    @Test func adminTokensAreShownOnceAndListedWithoutTheirSecret() async throws {
        let db = WardenBinary.temporaryDatabase()
        let created = try await WardenBinary.run(["admins", "create", "--db", db, "--name", "alice", "--role", "approver", "--format", "json"])
        #expect(created.status == 0)
        let token = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: String])
        #expect(token["token"]?.hasPrefix("wda_") == true && token["role"] == "approver")
        let listed = try await WardenBinary.run(["admins", "list", "--db", db])
        #expect(listed.stdout.contains("alice") && listed.stdout.contains("approver") && !listed.stdout.contains(token["token"]!))
        #expect(try await WardenBinary.run(["admins", "revoke", token["id"]!, "--db", db]).status == 0)
        #expect(try await WardenBinary.run(["admins", "list", "--db", db, "--format", "json"]).stdout.isEmpty)
        let caller = try await WardenBinary.run(["admins", "create", "--db", db, "--name", "user", "--role", "viewer"])
        #expect(caller.status == 2 && caller.stderr.contains("means the caller"))
        let role = try await WardenBinary.run(["admins", "create", "--db", db, "--name", "bob", "--role", "root"])
        #expect(role.status == 2 && role.stderr.contains("--role must be viewer, approver or admin"))
    }
}
