import Foundation
import PostgresNIO
import Testing

@testable import WardenStore

/// A token seen before is authenticated without a statement, and any change to its grant,
/// on any instance or by hand, is announced to every instance; nothing is trusted across a
/// gap in listening, nor longer than the cache's bound.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresGrantCacheTests {
    /// An instance's grants, as `warden serve` authenticates through them, trusting what it
    /// keeps for `trust` at most.
    struct Gateway {
        let store: PostgresStore
        let listener: ChannelListener
        let grants: PostgresGrantStore

        init(_ configuration: PostgresConfiguration, trust: Duration = .seconds(3600)) async throws {
            store = try await PostgresStore.open(configuration)
            listener = ChannelListener(database: store.database, channel: PostgresGrantStore.channel)
            grants = PostgresGrantStore(database: store.database, cache: GrantCache(signal: listener, longestTrust: trust))
        }

        /// How many announcements (and gaps in listening) it has heard of.
        var heard: UInt64 { listener.watched.generation }

        /// Authenticates `token` once, so that its grant is kept, and listens.
        func keep(_ token: String) async throws {
            #expect(try await grants.authenticate(token: token) != nil)
            await listener.waitUntilListening()
            #expect(try await grants.authenticate(token: token) != nil)
        }

        func close() async throws {
            listener.stop()
            try await store.close()
        }
    }

    /// Until `condition` holds (checked every 10 ms), at most `limit`: whether it held.
    func eventually(within limit: Duration = .seconds(2), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }

    /// Revokes grant `id` with plain SQL while its trigger is disabled: a change nobody announces,
    /// which only a grant read from the database (not kept) can show.
    func revokeSilently(_ id: String, in store: PostgresStore) async throws {
        try await store.database.transaction("revoking silently") { connection in
            try await connection.query("ALTER TABLE warden_grant DISABLE TRIGGER warden_grant_changed", logger: store.database.logger)
            try await connection.query(
                "UPDATE warden_grant SET revoked_at = \(SQLiteGrantStore.format(Date())) WHERE id = \(id)", logger: store.database.logger)
            try await connection.query("ALTER TABLE warden_grant ENABLE TRIGGER warden_grant_changed", logger: store.database.logger)
        }
    }

    /// A new database with one grant, and an instance that has kept its token's grant.
    func keptGrant(trust: Duration = .seconds(3600)) async throws -> (admin: PostgresStore, issued: IssuedGrant, gateway: Gateway) {
        let configuration = try await TestPostgres.newDatabase()
        let admin = try await PostgresStore.open(configuration)
        let issued = try await admin.grants.create(label: "agent", servers: ["time"], policy: "p")
        let gateway = try await Gateway(configuration, trust: trust)
        try await gateway.keep(issued.token)
        return (admin, issued, gateway)
    }

    @Test func aKeptGrantIsServedWithoutReading() async throws {
        let (admin, issued, gateway) = try await keptGrant()

        try await revokeSilently(issued.grant.id, in: admin)
        #expect(try await gateway.grants.authenticate(token: issued.token) != nil, "kept: no statement read the change")
        try await gateway.close()
        try await admin.close()
    }

    @Test func aGrantOlderThanTheBoundIsReadAgain() async throws {
        let (admin, issued, gateway) = try await keptGrant(trust: .zero)

        try await revokeSilently(issued.grant.id, in: admin)
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil, "read again, announced or not")
        try await gateway.close()
        try await admin.close()
    }

    @Test func aRevocationOnAnotherInstanceIsAnnouncedAndEndsEveryKeptGrant() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let admin = try await PostgresStore.open(configuration)
        let first = try await admin.grants.create(label: "agent", servers: ["time"], policy: "p")
        let second = try await admin.grants.create(label: "other", servers: ["time"], policy: "p")
        let gateway = try await Gateway(configuration)
        try await gateway.keep(first.token)
        try await gateway.keep(second.token)
        try await revokeSilently(second.grant.id, in: admin)
        #expect(try await gateway.grants.authenticate(token: second.token) != nil, "kept")

        let heard = gateway.heard
        try await admin.grants.revoke(id: first.grant.id)
        #expect(try await eventually { gateway.heard > heard }, "announced to the other instance")
        #expect(try await gateway.grants.authenticate(token: first.token) == nil)
        #expect(try await gateway.grants.authenticate(token: second.token) == nil, "an announcement ends every kept grant")
        try await gateway.close()
        try await admin.close()
    }

    @Test func aRotationElsewhereEndsTheOldTokenAndTheNewOneWorks() async throws {
        let (admin, issued, gateway) = try await keptGrant()

        let heard = gateway.heard
        let rotated = try await admin.grants.rotate(id: issued.grant.id)
        #expect(try await eventually { gateway.heard > heard })
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil)
        #expect(try await gateway.grants.authenticate(token: rotated.token)?.id == issued.grant.id)
        try await gateway.close()
        try await admin.close()
    }

    @Test func aChangeMadeByHandIsAnnouncedByTheTrigger() async throws {
        let (admin, issued, gateway) = try await keptGrant()

        let heard = gateway.heard
        try await admin.database.query("DELETE FROM warden_grant WHERE id = \(issued.grant.id)", "deleting by hand")
        #expect(try await eventually { gateway.heard > heard })
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil)
        try await gateway.close()
        try await admin.close()
    }

    @Test func whatWasKeptBeforeAGapInListeningIsReadAgain() async throws {
        let (admin, issued, gateway) = try await keptGrant()

        // The listening connection is lost (and listens again): announcements may have been missed.
        let heard = gateway.heard
        try await admin.database.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN%warden_grants%'
            """, "ending the listener")
        #expect(try await eventually(within: .seconds(10)) { gateway.heard >= heard + 2 }, "stopped and started listening")
        await gateway.listener.waitUntilListening()
        try await revokeSilently(issued.grant.id, in: admin)
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil, "read again, not trusted across the gap")
        try await gateway.close()
        try await admin.close()
    }
}
