import Foundation
import GRDB
import Testing

@testable import WardenStore

/// `warden store migrate` into and out of PostgreSQL: SQLite → PostgreSQL → SQLite gives back
/// the very rows it started from, tokens keep working, and the chain verifies at each step.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresTransferTests {
    func rows(of store: SQLiteStore) async throws -> [String] {
        try await store.database.read { db in
            try [#""grant""#, "admin_token", "approval", "audit"].flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1").map { "\(table) \($0)" }
            }
        }
    }

    @Test func sqliteToPostgresAndBackIsVerbatim() async throws {
        let sqlite = try SQLiteStore(path: temporaryDatabasePath())
        let fixture = try await TransferFixture.fill(sqlite, auditEntries: 1_234)
        let postgres = try await TestPostgres.newStore()
        var into = StoreMigration(from: sqlite, to: postgres)
        into.batchSize = 500
        let checkpoint = AuditCheckpoint(head: try await sqlite.audit.verify().head)
        let summary = try await into.run(checkpoints: [checkpoint])
        #expect(summary.isVerified)
        #expect(summary.copied == StoreTransfer.Contents(grants: 3, adminTokens: 2, approvals: 2, auditEntries: 1_234))
        #expect(summary.checkpointWritten == nil, "PostgreSQL keeps no head file")
        #expect(try await fixture.expectTokensWork(in: postgres) == [])
        #expect(try await postgres.exportGrants() == (try await sqlite.exportGrants()))
        #expect(try await postgres.exportAdminTokens() == (try await sqlite.exportAdminTokens()))
        #expect(try await postgres.exportApprovals() == (try await sqlite.exportApprovals()))
        #expect(try await postgres.audit.entries().map(\.hash) == (try await sqlite.audit.entries().map(\.hash)))

        let back = try SQLiteStore(path: temporaryDatabasePath())
        let returned = try await StoreMigration(from: postgres, to: back).run()
        #expect(returned.isVerified)
        #expect(try await rows(of: back) == (try await rows(of: sqlite)))

        // The copy is a live store: the next append follows the copied head.
        let head = try await postgres.audit.append([AuditRecord(time: Date(), identity: "ci", method: "tools/call", decision: "allow")])
        #expect(head?.sequence == 1_235)
        #expect(try await postgres.audit.verify().isIntact)
        try await postgres.close()
    }

    @Test func aNonEmptyPostgresDestinationIsRefused() async throws {
        let sqlite = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(sqlite, auditEntries: 5)
        let postgres = try await TestPostgres.newStore()
        try await postgres.audit.append([AuditRecord(time: Date(), identity: "x", method: "tools/call", decision: "allow")])
        let error = await #expect(throws: StoreMigrationError.self) { try await StoreMigration(from: sqlite, to: postgres).run() }
        #expect(error?.code == .destinationNotEmpty)
        #expect(try await postgres.transferContents() == StoreTransfer.Contents(auditEntries: 1))
        await #expect(throws: StoreError.self) {
            try await postgres.importAudit(AuditLog.chain([AuditRecord(time: Date(), identity: "x", method: "m", decision: "allow")], after: .empty))
        }
        try await postgres.close()
    }

    @Test func aFailureMidwayLeavesExactlyWhatItReports() async throws {
        let sqlite = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(sqlite, auditEntries: 60)
        try await sqlite.database.write { db in try db.execute(sql: "DELETE FROM audit WHERE seq = 45") }
        let postgres = try await TestPostgres.newStore()
        var migration = StoreMigration(from: sqlite, to: postgres)
        migration.batchSize = 20
        let error = await #expect(throws: StoreMigrationError.self) { try await migration.run() }
        #expect(error?.copied == StoreTransfer.Contents(grants: 3, adminTokens: 2, approvals: 2, auditEntries: 40))
        #expect(try await postgres.transferContents() == error?.copied)
        try await postgres.close()
    }
}
