import Foundation
import GRDB
import Synchronization
import Testing
import WardenJSON

@testable import WardenStore

/// Checkpoints of the audit chain's head, and the head file the writer keeps beside a SQLite
/// database. What verify checks on any store is in the conformance suite.
@Suite struct AuditCheckpointTests {
    func record(_ tool: String, decision: String = "allow") -> AuditRecord {
        AuditRecord(time: Date(), identity: "alice", method: "tools/call", tool: tool, decision: decision)
    }

    /// A store whose writer has written `count` entries and a head file.
    func written(_ count: Int, checkpoints: AuditCheckpointing = AuditCheckpointing()) async throws -> (SQLiteStore, AuditWriter, String) {
        let path = temporaryDatabasePath()
        let store = try SQLiteStore(path: path)
        let writer = AuditWriter(log: store.audit, checkpoints: checkpoints) { error in Issue.record("\(error)") }
        for index in 0..<count { writer.record(record("t\(index)")) }
        await writer.flush()
        return (store, writer, AuditCheckpoint.path(besideDatabase: path))
    }

    /// The log's insert binds and steps its statement itself: an insert SQLite refuses fails
    /// the batch (nothing of it is kept) and leaves the cached statement fit for the next one.
    @Test func aRefusedInsertFailsItsBatchAndTheNextAppendWorks() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        try await store.database.write { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON audit WHEN NEW.tool = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        }
        try await store.audit.append([record("a")])
        await #expect(throws: DatabaseError.self) { try await store.audit.append([self.record("b"), self.record("refused")]) }
        try await store.audit.append([record("c")])
        #expect(try await store.audit.entries().map(\.record.tool) == ["a", "c"])
        #expect(try await store.audit.verify(against: []).isIntact)
    }

    @Test func theWriterKeepsTheHeadBesideTheDatabaseAfterEachBatch() async throws {
        let (store, writer, path) = try await written(3)
        #expect(writer.checkpointPath == path)
        let first = try AuditCheckpoint.read(from: path)
        #expect(first.sequence == 3)
        #expect(first.hash == (try await store.audit.entries()).last?.hash)
        #expect(first.signature == nil)
        writer.record(record("t3"))
        await writer.flush()
        #expect(try AuditCheckpoint.read(from: path).sequence == 4)
        #expect(writer.lastCheckpoint?.sequence == 4)
        #expect(try await store.audit.verify(against: [try AuditCheckpoint.read(from: path)]).isIntact)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }

    @Test func theWriterKeepsAContradictedHeadFileAsEvidence() async throws {
        let (store, _, path) = try await written(3)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        try await store.database.write { db in try db.execute(sql: "DELETE FROM audit WHERE seq = 3") }
        let problems = Mutex<[String]>([])
        let writer = AuditWriter(log: store.audit, checkpoints: AuditCheckpointing(onProblem: { problem in problems.withLock { $0.append(problem) } })) { _ in }
        for _ in 0..<2 {
            writer.record(record("after"))
            await writer.flush()
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        #expect(problems.withLock { $0.count } == 1, "a lasting problem is reported once")
        #expect(problems.withLock { $0.first?.contains("no longer holds entry 3") } == true)
    }

    @Test func anOlderHeadNeverReplacesANewerOne() async throws {
        let path = temporaryDatabasePath()
        let first = try SQLiteStore(path: path)
        let second = try SQLiteStore(path: path)
        let one = AuditWriter(log: first.audit, checkpoints: AuditCheckpointing()) { _ in }
        let other = AuditWriter(log: second.audit, checkpoints: AuditCheckpointing()) { _ in }
        other.record(record("a"))
        await other.flush()
        one.record(record("b"))
        one.record(record("c"))
        await one.flush()
        let head = AuditCheckpoint.path(besideDatabase: path)
        #expect(try AuditCheckpoint.read(from: head).sequence == 3)
        // A head written by another process sharing the file stays when it is newer.
        try await first.audit.append([record("d")])
        try AuditCheckpoint.writeAtomically(AuditCheckpoint(head: try await first.audit.verify().head).text, to: head)
        other.record(record("e"))
        await other.flush()
        #expect(try AuditCheckpoint.read(from: head).sequence == 5)
    }

    @Test func aCancelledWriterStillWritesTheCheckpointOfItsLastBatch() async throws {
        let path = temporaryDatabasePath()
        let store = try SQLiteStore(path: path)
        let writer = AuditWriter(log: store.audit, checkpoints: AuditCheckpointing()) { error in Issue.record("\(error)") }
        writer.record(record("t0"))
        await writer.flush()
        let running = Task { await writer.run(interval: .seconds(60)) }
        for index in 1..<5 { writer.record(record("t\(index)")) }
        running.cancel()
        await running.value
        #expect(try AuditCheckpoint.read(from: AuditCheckpoint.path(besideDatabase: path)).sequence == 5)
    }

    @Test func disabledCheckpointsWriteNoFile() async throws {
        let (_, writer, path) = try await written(2, checkpoints: AuditCheckpointing(isEnabled: false))
        #expect(writer.checkpointPath == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func checkpointsAreSignedAndTheSignatureCoversEveryField() throws {
        let key = try AuditCheckpointKey(bytes: Array("0123456789abcdef".utf8))
        let other = try AuditCheckpointKey(bytes: Array("0123456789abcdeg".utf8))
        let checkpoint = AuditCheckpoint(head: .init(sequence: 7, hash: String(repeating: "a", count: 64)), key: key)
        #expect(checkpoint.signature?.hasPrefix("hmac-sha256:") == true)
        #expect(checkpoint.isSigned(by: key))
        #expect(!checkpoint.isSigned(by: other))
        for change in [{ (c: inout AuditCheckpoint) in c.sequence = 8 }, { $0.hash = String(repeating: "b", count: 64) }, { $0.time = "2020-01-01T00:00:00.000Z" }] {
            var forged = checkpoint
            change(&forged)
            #expect(!forged.isSigned(by: key))
        }
        #expect(!AuditCheckpoint(head: checkpoint.head).isSigned(by: key))
        #expect(throws: AuditCheckpointError.self) { try AuditCheckpointKey(bytes: Array("short".utf8)) }
    }

    @Test func theLastCheckpointInALogIsFound() throws {
        let older = AuditCheckpoint(head: .init(sequence: 3, hash: "h3"))
        let newer = AuditCheckpoint(head: .init(sequence: 9, hash: "h9"))
        let log = """
            2026-01-01T00:00:00+0000 notice warden: checkpoint=\(older.text) [WardenCLI] audit checkpoint
            2026-01-01T00:00:01+0000 notice warden: [WardenGateway] something {"else":1}
            2026-01-01T00:01:00+0000 notice warden: checkpoint=\(newer.text) [WardenCLI] audit checkpoint
            """
        let found = try #require(AuditCheckpoint.last(in: log, source: "warden.log"))
        #expect(found.sequence == 9 && found.hash == "h9" && found.time == newer.time && found.source == "warden.log")
        #expect(AuditCheckpoint.last(in: "no checkpoint here {\"warden_audit_checkpoint\":1}") == nil)
    }
}
