import GRDB
import Testing

@testable import WardenStore

@Suite struct GrantStoreTests {
    func store() throws -> SQLiteStore {
        try SQLiteStore(path: temporaryDatabasePath())
    }

    @Test func tokensAuthenticateTheirGrantAndAreStoredOnlyAsHashes() async throws {
        let store = try store()
        let issued = try store.grants.create(
            label: "ci-agent", servers: ["time", "git"], policy: "/p.yaml", identityLabels: ["team": "ops"])
        #expect(issued.token.hasPrefix("wdn_"))
        #expect(issued.token.count == 4 + 43)
        #expect(issued.grant.identity == "ci-agent")
        let found = try #require(try store.grants.authenticate(token: issued.token))
        #expect(found.id == issued.grant.id)
        #expect(found.servers == ["time", "git"])
        #expect(found.identityLabels == ["team": "ops"])
        #expect(try store.grants.authenticate(token: issued.token + "x") == nil)
        let stored = try await store.database.read { db in try String.fetchAll(db, sql: #"SELECT token_hash FROM "grant""#) }
        #expect(stored == [Digest.sha256(Array(issued.token.utf8))])
        #expect(try await store.database.read { db in try Int.fetchOne(db, sql: #"SELECT count(*) FROM "grant" WHERE instr(token_hash, ?) > 0"#, arguments: [issued.token]) } == 0)
    }

    @Test func tokensAndIdsAreUnique() throws {
        let store = try store()
        let issued = try (0..<50).map { try store.grants.create(label: "a\($0)", servers: ["s"], policy: "/p") }
        #expect(Set(issued.map(\.token)).count == 50)
        #expect(Set(issued.map(\.grant.id)).count == 50)
    }

    @Test func rotationReplacesTheToken() async throws {
        let store = try store()
        let first = try store.grants.create(label: "a", servers: ["s"], policy: "/p")
        let second = try store.grants.rotate(id: first.grant.id)
        #expect(second.token != first.token)
        #expect(try store.grants.authenticate(token: first.token) == nil)
        #expect(try store.grants.authenticate(token: second.token)?.id == first.grant.id)
        #expect(try store.grants.list().first?.rotatedAt != nil)
    }

    @Test func revocationTakesEffectAtOnce() async throws {
        let store = try store()
        let issued = try store.grants.create(label: "a", servers: ["s"], policy: "/p")
        try store.grants.revoke(id: issued.grant.id)
        #expect(try store.grants.authenticate(token: issued.token) == nil)
        #expect(try store.grants.list().isEmpty)
        #expect(try store.grants.list(includingRevoked: true).first?.revokedAt != nil)
        #expect(throws: GrantStore.Failure.self) { try store.grants.revoke(id: issued.grant.id) }
        #expect(throws: GrantStore.Failure.self) { try store.grants.rotate(id: issued.grant.id) }
    }

    @Test func aGrantReadBeforeIsRefusedAtOnceWhenAnotherProcessRevokesOrRotatesIt() throws {
        // The gateway has authenticated (and cached) both tokens; the CLI, another process
        // on the same file, revokes one grant and rotates the other.
        let path = temporaryDatabasePath()
        let gateway = try SQLiteStore(path: path)
        let revoked = try gateway.grants.create(label: "a", servers: ["s"], policy: "/p")
        let rotated = try gateway.grants.create(label: "b", servers: ["s"], policy: "/p")
        #expect(try gateway.grants.authenticate(token: revoked.token)?.id == revoked.grant.id)
        #expect(try gateway.grants.authenticate(token: rotated.token)?.id == rotated.grant.id)
        let cli = try SQLiteStore(path: path)
        try cli.grants.revoke(id: revoked.grant.id)
        let replacement = try cli.grants.rotate(id: rotated.grant.id)
        #expect(try gateway.grants.authenticate(token: revoked.token) == nil)
        #expect(try gateway.grants.authenticate(token: rotated.token) == nil)
        let found = try #require(try gateway.grants.authenticate(token: replacement.token))
        #expect(found.id == rotated.grant.id)
        #expect(found.rotatedAt != nil)
    }

    @Test func grantsNeedALabelAndAServer() throws {
        let store = try store()
        #expect(throws: GrantStore.Failure.self) { try store.grants.create(label: "", servers: ["s"], policy: "/p") }
        #expect(throws: GrantStore.Failure.self) { try store.grants.create(label: "a", servers: [], policy: "/p") }
    }
}
