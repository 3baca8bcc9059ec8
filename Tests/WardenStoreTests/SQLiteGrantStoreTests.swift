import Foundation
import GRDB
import Testing

@testable import WardenStore

/// What only SQLite shows: the file's contents, and another process on the same file. The
/// rest is in the conformance suite.
@Suite struct SQLiteGrantStoreTests {
    @Test func tokensAreStoredOnlyAsHashes() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let issued = try await store.grants.create(label: "ci-agent", servers: ["time"], policy: "/p.yaml")
        let stored = try await store.database.read { db in try String.fetchAll(db, sql: #"SELECT token_hash FROM "grant""#) }
        #expect(stored == [Digest.sha256(Array(issued.token.utf8))])
        #expect(try await store.database.read { db in try Int.fetchOne(db, sql: #"SELECT count(*) FROM "grant" WHERE instr(token_hash, ?) > 0"#, arguments: [issued.token]) } == 0)
    }

    @Test func aGrantReadBeforeIsRefusedAtOnceWhenAnotherProcessRevokesOrRotatesIt() async throws {
        // The gateway has authenticated (and cached) both tokens; the CLI, another process
        // on the same file, revokes one grant and rotates the other.
        let path = temporaryDatabasePath()
        let gateway = try SQLiteStore(path: path)
        let revoked = try await gateway.grants.create(label: "a", servers: ["s"], policy: "/p")
        let rotated = try await gateway.grants.create(label: "b", servers: ["s"], policy: "/p")
        #expect(try await gateway.grants.authenticate(token: revoked.token)?.id == revoked.grant.id)
        #expect(try await gateway.grants.authenticate(token: rotated.token)?.id == rotated.grant.id)
        let cli = try SQLiteStore(path: path)
        try await cli.grants.revoke(id: revoked.grant.id)
        let replacement = try await cli.grants.rotate(id: rotated.grant.id)
        #expect(try await gateway.grants.authenticate(token: revoked.token) == nil)
        #expect(try await gateway.grants.authenticate(token: rotated.token) == nil)
        let found = try #require(try await gateway.grants.authenticate(token: replacement.token))
        #expect(found.id == rotated.grant.id)
        #expect(found.rotatedAt != nil)
    }

    @Test func aKeptGrantIsServedWithoutReadingUntilTheStampChanges() async throws {
        let path = temporaryDatabasePath()
        let gateway = try SQLiteStore(path: path, grantTrust: .seconds(3600))
        let issued = try await gateway.grants.create(label: "a", servers: ["s"], policy: "/p")
        #expect(try await gateway.grants.authenticate(token: issued.token) != nil)
        // Revoked with plain SQL: nothing stamps the change, so only a read could show it.
        try await gateway.database.write { db in
            try db.execute(sql: #"UPDATE "grant" SET revoked_at = '2026-01-01T00:00:00.000Z' WHERE id = ?"#, arguments: [issued.grant.id])
        }
        #expect(try await gateway.grants.authenticate(token: issued.token) != nil, "kept: not read again")

        GrantStamp(besideDatabase: path).changed()  // as another process changing any grant does
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil, "read again once the stamp changed")
    }

    @Test func withoutAStampNothingIsKept() async throws {
        let path = temporaryDatabasePath()
        let gateway = try SQLiteStore(path: path, grantTrust: .seconds(3600))
        let issued = try await gateway.grants.create(label: "a", servers: ["s"], policy: "/p")
        #expect(try await gateway.grants.authenticate(token: issued.token) != nil)
        try FileManager.default.removeItem(atPath: GrantStamp(besideDatabase: path).path)
        try await gateway.database.write { db in
            try db.execute(sql: #"UPDATE "grant" SET revoked_at = '2026-01-01T00:00:00.000Z' WHERE id = ?"#, arguments: [issued.grant.id])
        }
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil)
    }
}
