import Foundation
import PostgresNIO
import Testing

@testable import WardenStore

/// A token seen before is authenticated without a statement, and any change to its grant,
/// on any instance or by hand, reaches every instance within a second; nothing is trusted
/// while an instance is not listening.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresGrantCacheTests {
    /// Until `condition` holds (checked every 10 ms), at most `limit`: whether it held.
    func eventually(within limit: Duration = .seconds(1), _ condition: () async throws -> Bool) async throws -> Bool {
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

    /// A store whose grant cache listens, and has kept `token`'s grant.
    func listening(_ configuration: PostgresConfiguration, keeping token: String) async throws -> PostgresStore {
        let store = try await PostgresStore.open(configuration)
        _ = try await store.grants.authenticate(token: token)
        await store.grantCache.listener.waitUntilListening()
        #expect(try await store.grants.authenticate(token: token) != nil)
        return store
    }

    @Test func aKeptGrantIsServedWithoutReadingAndARevocationElsewhereEndsItWithinASecond() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let admin = try await PostgresStore.open(configuration)
        let first = try await admin.grants.create(label: "agent", servers: ["time"], policy: "p")
        let second = try await admin.grants.create(label: "other", servers: ["time"], policy: "p")
        let gateway = try await listening(configuration, keeping: first.token)
        _ = try await gateway.grants.authenticate(token: second.token)

        try await revokeSilently(second.grant.id, in: admin)
        #expect(try await gateway.grants.authenticate(token: second.token) != nil, "kept: no statement read the change")

        try await admin.grants.revoke(id: first.grant.id)
        #expect(try await eventually { try await gateway.grants.authenticate(token: first.token) == nil }, "announced and ended within a second")
        #expect(try await gateway.grants.authenticate(token: second.token) == nil, "an announcement ends every kept grant")
        try await gateway.close()
        try await admin.close()
    }

    @Test func aRotationElsewhereEndsTheOldTokenAndTheNewOneWorks() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let admin = try await PostgresStore.open(configuration)
        let issued = try await admin.grants.create(label: "agent", servers: ["time"], policy: "p")
        let gateway = try await listening(configuration, keeping: issued.token)

        let rotated = try await admin.grants.rotate(id: issued.grant.id)
        #expect(try await eventually { try await gateway.grants.authenticate(token: issued.token) == nil })
        #expect(try await gateway.grants.authenticate(token: rotated.token)?.id == issued.grant.id)
        try await gateway.close()
        try await admin.close()
    }

    @Test func aChangeMadeByHandIsAnnouncedByTheTrigger() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let admin = try await PostgresStore.open(configuration)
        let issued = try await admin.grants.create(label: "agent", servers: ["time"], policy: "p")
        let gateway = try await listening(configuration, keeping: issued.token)

        try await admin.database.query("DELETE FROM warden_grant WHERE id = \(issued.grant.id)", "deleting by hand")
        #expect(try await eventually { try await gateway.grants.authenticate(token: issued.token) == nil })
        try await gateway.close()
        try await admin.close()
    }

    @Test func whatWasKeptBeforeListeningStoppedIsReadAgain() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let admin = try await PostgresStore.open(configuration)
        let issued = try await admin.grants.create(label: "agent", servers: ["time"], policy: "p")
        let gateway = try await listening(configuration, keeping: issued.token)
        let before = gateway.grantCache.listener.listening.generation

        // The listening connection is lost (and listens again): announcements may have been missed.
        try await admin.database.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN%warden_grants%'
            """, "ending the listener")
        #expect(try await eventually(within: .seconds(5)) { gateway.grantCache.listener.listening.generation >= before + 2 })
        await gateway.grantCache.listener.waitUntilListening()
        try await revokeSilently(issued.grant.id, in: admin)
        #expect(try await gateway.grants.authenticate(token: issued.token) == nil, "read again, not trusted across the gap")
        try await gateway.close()
        try await admin.close()
    }
}
