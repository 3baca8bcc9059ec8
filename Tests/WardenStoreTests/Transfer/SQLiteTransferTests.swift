import Foundation
import GRDB
import Synchronization
import Testing

@testable import WardenStore

/// `warden store migrate` between two SQLite files: everything copied verbatim, the chain
/// verified at the destination, a non-empty destination refused, a failure midway reported
/// exactly.
@Suite struct SQLiteTransferTests {
    /// Every row of every table `migrate` copies, as text, in a stable order.
    func tables(of store: SQLiteStore) async throws -> [String: [String]] {
        try await store.database.read { db in
            var tables: [String: [String]] = [:]
            for (table, order) in [(#""grant""#, "id"), ("admin_token", "id"), ("approval", "id"), ("audit", "seq")] {
                tables[table] = try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY \(order)").map(\.description)
            }
            return tables
        }
    }

    @Test func copiesEverythingVerbatimAndTheChainVerifiesAtTheDestination() async throws {
        let source = try SQLiteStore(path: temporaryDatabasePath())
        let fixture = try await TransferFixture.fill(source, auditEntries: 2_345)
        let destination = try SQLiteStore(path: temporaryDatabasePath())
        let checkpoint = AuditCheckpoint(head: try await source.audit.verify().head)
        var migration = StoreMigration(from: source, to: destination)
        migration.batchSize = 1_000
        let seen = Mutex<[StoreMigration.Progress]>([])
        let summary = try await migration.run(checkpoints: [checkpoint]) { progress in seen.withLock { $0.append(progress) } }

        #expect(summary.isVerified)
        #expect(summary.verification.checked == 2_345)
        #expect(summary.sourceHead == checkpoint.head)
        #expect(summary.copied == StoreTransfer.Contents(grants: 3, adminTokens: 2, approvals: 2, auditEntries: 2_345))
        #expect(summary.copied == summary.source)
        #expect(seen.withLock { $0.map(\.auditEntriesCopied) } == [1_000, 2_000, 2_345])
        #expect(seen.withLock { $0.allSatisfy { $0.auditEntriesTotal == 2_345 } })

        let (copiedTables, sourceTables) = (try await tables(of: destination), try await tables(of: source))
        for table in sourceTables.keys.sorted() {
            #expect(copiedTables[table] == sourceTables[table], "\(table) differs")
        }
        #expect(try await fixture.expectTokensWork(in: destination) == [])
        let approved = try #require(try await destination.approvals.approval(id: fixture.approvals[1]))
        #expect(approved.status == .approved && approved.decidedByToken != nil)
        // The copy goes on as its own log: the next append follows the copied head.
        let head = try #require(try await destination.audit.append([AuditRecord(time: Date(), identity: "ci", method: "tools/call", decision: "allow")]))
        #expect(head.sequence == 2_346)
        #expect(try await destination.audit.verify().isIntact)
    }

    @Test func refusesADestinationThatHoldsAnythingAndCopiesNothing() async throws {
        let source = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(source, auditEntries: 10)
        let destination = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await destination.adminTokens.create(name: "carol", role: .viewer)
        let error = await #expect(throws: StoreMigrationError.self) { try await StoreMigration(from: source, to: destination).run() }
        #expect(error?.code == .destinationNotEmpty)
        #expect(error?.description == "the destination already holds 0 grants, 1 admin token, 0 approvals, 0 audit entries; migrate copies into an empty store only (nothing was copied)")
        #expect(try await destination.transferContents() == StoreTransfer.Contents(adminTokens: 1))
    }

    @Test func refusesASourceWithCallsInFlightUntilTheyAreRecorded() async throws {
        let source = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(source, auditEntries: 3)
        let stopped = CallIntent.Origin(holder: "2147483646@\(ProcessInfo.processInfo.hostName)", process: "stopped-run")
        let record = AuditRecord(time: Date(), identity: "ada", method: "tools/call", tool: "echo", decision: "allow")
        try await source.intents.write([CallIntent(record: record, instance: nil, origin: stopped)])
        let destination = try SQLiteStore(path: temporaryDatabasePath())
        let error = await #expect(throws: StoreMigrationError.self) { try await StoreMigration(from: source, to: destination).run() }
        #expect(error?.code == .callsInFlight)
        #expect(error?.description.hasPrefix("the source holds 1 call in flight (call intents)") == true)
        #expect(error?.description.contains("warden audit recover --db SOURCE --stopped-here") == true)
        #expect(try await destination.transferContents().isEmpty)

        #expect(try await source.intents.recover(.leftBehind()).recovered == 1)
        let summary = try await StoreMigration(from: source, to: destination).run()
        #expect(summary.isVerified)
        #expect(try await destination.audit.entries().last?.record.upstreamStatus == CallIntent.interruptedStatus)
    }

    @Test func aFailureMidwayLeavesExactlyWhatItReports() async throws {
        let source = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(source, auditEntries: 250)
        // Entry 120 is gone from the source: the second batch cannot follow the first.
        try await source.database.write { db in try db.execute(sql: "DELETE FROM audit WHERE seq = 120") }
        let destination = try SQLiteStore(path: temporaryDatabasePath())
        var migration = StoreMigration(from: source, to: destination)
        migration.batchSize = 100
        let error = await #expect(throws: StoreMigrationError.self) { try await migration.run() }
        #expect(error?.code == .copyFailed)
        #expect(error?.copied == StoreTransfer.Contents(grants: 3, adminTokens: 2, approvals: 2, auditEntries: 100))
        #expect(error?.description.contains("writing audit entries 101–201 failed") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("audit entry 121 does not follow entry 119") == true, "\(error?.description ?? "")")
        #expect(try await destination.transferContents() == error?.copied)
    }

    @Test func aTamperedSourceCopiesButDoesNotVerify() async throws {
        let source = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(source, auditEntries: 30)
        try await source.database.write { db in
            try db.execute(sql: "UPDATE audit SET record = replace(record, '\"allow\"', '\"deny\"') WHERE seq = 12")
        }
        let destination = try SQLiteStore(path: temporaryDatabasePath())
        let summary = try await StoreMigration(from: source, to: destination).run()
        #expect(!summary.isVerified)
        #expect(summary.verification.firstBroken?.sequence == 12)
    }

    @Test func aCheckpointTheCopyDoesNotReachFailsVerification() async throws {
        let source = try SQLiteStore(path: temporaryDatabasePath())
        _ = try await TransferFixture.fill(source, auditEntries: 20)
        let beyond = AuditCheckpoint(head: AuditLog.Head(sequence: 25, hash: String(repeating: "a", count: 64)))
        let summary = try await StoreMigration(from: source, to: try SQLiteStore(path: temporaryDatabasePath())).run(checkpoints: [beyond])
        #expect(!summary.isVerified)
        #expect(summary.verification.firstBroken?.checkpoint != nil)
    }

    @Test func storedTimesReadBackAreWrittenAsTheSameText() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = SQLiteGrantStore.format(Date(timeIntervalSince1970: Double(UInt64.random(in: 0...4_000_000_000_000, using: &generator)) / 1000))
            let read = SQLiteGrantStore.date(text)
            #expect(read.map(StoreTransfer.storedText) == text)
        }
    }

    @Test func importedAuditEntriesMustContinueTheChain() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let rows = AuditLog.chain(
            (0..<3).map { _ in AuditRecord(time: Date(), identity: "ci", method: "tools/call", decision: "allow") }, after: .empty)
        await #expect(throws: StoreError.self) { try await store.importAudit(Array(rows.dropFirst())) }
        try await store.importAudit(Array(rows.prefix(2)))
        await #expect(throws: StoreError.self) { try await store.importAudit(Array(rows.prefix(1))) }
        var forged = rows[2]
        forged.previousHash = AuditLog.genesisHash
        await #expect(throws: StoreError.self) { try await store.importAudit([forged]) }
        try await store.importAudit([rows[2]])
        #expect(try await store.audit.verify().checked == 3)
        // Records are written in one step, into a store that holds none.
        await #expect(throws: StoreError.self) {
            try await store.importRecords(StoreTransfer.Records(approvals: []))
            let other = try SQLiteStore(path: temporaryDatabasePath())
            _ = try await other.grants.create(label: "x", servers: ["s"], policy: "p")
            try await other.importRecords(StoreTransfer.Records(grants: try await other.exportGrants()))
        }
    }
}
