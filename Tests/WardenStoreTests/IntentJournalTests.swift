import Foundation
import GRDB
import Testing
import WardenTesting

@testable import WardenStore

/// What only the SQLite store's intent journal does: files beside the database, finished by
/// the audit log, tidied, read back with care, and the move from the older intent table.
@Suite struct IntentJournalTests {
    static let host = ProcessInfo.processInfo.hostName
    /// A process on this host that is not running (no pid is this large).
    static let stopped = CallIntent.Origin(holder: "2147483646@\(host)", process: "stopped-run")
    static let observer = CallIntent.Origin(holder: "7@observer.example", process: "observer-run")
    static let everything = CallIntent.Selection(decidedBefore: .distantFuture)

    static func intent(_ tool: String, message: String = "allowed", by origin: CallIntent.Origin = stopped) -> CallIntent {
        let record = AuditRecord(
            time: Date(), requestID: "7", identity: "alice", method: "tools/call", tool: tool, decision: "allow", message: message)
        return CallIntent(record: record, instance: nil, origin: origin)
    }

    static func finalRecord(of intent: CallIntent) -> AuditRecord {
        var record = intent.record
        record.upstreamStatus = "ok"
        record.intent = intent.id
        return record
    }

    static func files(of store: SQLiteStore) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store.journal.folder).sorted()
    }

    @Test func aRecordCommittedButNotYetMarkedInTheJournalStillFinishesItsIntent() async throws {
        let path = temporaryDatabasePath()
        let store = try SQLiteStore(path: path), other = try SQLiteStore(path: path)
        let intent = Self.intent("echo")
        try await store.intents.write([intent])
        // Appended by a store whose journal does not hold the intent: as if the process had
        // been killed between the commit and marking the intent finished.
        try await other.audit.append([Self.finalRecord(of: intent)])
        let lines = try String(contentsOfFile: "\(store.journal.folder)/\(try Self.files(of: store)[0])", encoding: .utf8)
        #expect(!lines.contains("- \(intent.id)"), "the journal still holds it open")

        #expect(try await store.intents.intents(Self.everything, by: Self.observer).isEmpty, "its record finishes it")
        #expect(try await store.intents.recover(Self.everything, by: Self.observer, now: Date()).recovered == 0)
        #expect(try await store.audit.entries().map(\.record.upstreamStatus) == ["ok"], "audited once")
    }

    @Test func theFileOfAStoppedProcessIsRecoveredAndRemoved() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let left = Self.intent("left")
        try FileManager.default.createDirectory(atPath: store.journal.folder, withIntermediateDirectories: true)
        let file = "\(store.journal.folder)/stopped-run-x-1.log"
        let line = "+ \(left.id) - \(left.timeText) \(left.recordText)\n"
        // The last line is cut short, as a line being written when the file was read.
        try ("warden-intents 1 \(Self.stopped.holder) \(Self.stopped.process)\n" + line + "+ 0123 - 2026").write(
            toFile: file, atomically: false, encoding: .utf8)

        let recovery = try await store.intents.recover(.leftBehind(), by: .current, now: Date())
        #expect(recovery.recovered == 1)
        let recorded = try #require(try await store.audit.entries().first?.record)
        #expect(recorded.tool == "left" && recorded.upstreamStatus == CallIntent.interruptedStatus)
        #expect(!FileManager.default.fileExists(atPath: file), "nothing is left in flight in it")
        #expect(try await store.intents.recover(.leftBehind(), by: .current, now: Date()).recovered == 0)
        #expect(try await store.audit.verify().isIntact)
    }

    @Test func aFileWardenCannotReadIsReportedAndKept() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        try FileManager.default.createDirectory(atPath: store.journal.folder, withIntermediateDirectories: true)
        let file = "\(store.journal.folder)/strange.log"
        try "not an intent file\n".write(toFile: file, atomically: false, encoding: .utf8)
        let error = await #expect(throws: StoreError.self) { try await store.intents.recover(.leftBehind(), by: .current, now: Date()) }
        #expect(error?.description.contains(file) == true)
        #expect(FileManager.default.fileExists(atPath: file))
    }

    @Test func aFileWhoseIntentsAreAllFinishedIsEmptiedOnceItHasGrown() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let big = String(repeating: "m", count: 100_000)
        var sizes: [Int] = []
        for call in 0..<15 {
            let intent = Self.intent("call-\(call)", message: big, by: .current)
            try await store.intents.write([intent])
            try await store.audit.append([Self.finalRecord(of: intent)])
            let file = "\(store.journal.folder)/\(try Self.files(of: store)[0])"
            sizes.append(try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int))
        }
        #expect(try Self.files(of: store).count == 1)
        #expect(sizes.max()! < IntentJournal.emptiedAfter + 110_000, "emptied once it passed the size (1.5 MB otherwise)")
        #expect(sizes.contains { $0 < 200 }, "down to its header")
        #expect(try await store.audit.entries().count == 15)
    }

    @Test func aFullFileIsReplacedAndRemovedOnceItsLastIntentIsFinished() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let big = String(repeating: "m", count: 1_000_000)
        let first = Self.intent("first", message: big, by: .current)
        try await store.intents.write([first])  // open all along
        var later: [CallIntent] = []
        for call in 0..<9 {
            let intent = Self.intent("call-\(call)", message: big, by: .current)
            try await store.intents.write([intent])
            later.append(intent)
        }
        #expect(try Self.files(of: store).count == 2, "a new file once the first passed the size")
        try await store.audit.append([Self.finalRecord(of: first)])
        #expect(try Self.files(of: store).count == 2, "the newer file still holds open intents")
        try await store.audit.append(later.map(Self.finalRecord))
        #expect(try Self.files(of: store).count == 1, "the older file, all finished, is gone")
        #expect(try await store.intents.intents(Self.everything, by: Self.observer).isEmpty)
    }

    @Test func intentsAnOlderWardenLeftInItsTableAreRecoveredOnUpgrade() async throws {
        let path = temporaryDatabasePath()
        let left = Self.intent("left")
        do {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            let database = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(database, upTo: "v5-call-intents")
            try await database.write { db in
                try db.execute(
                    sql: "INSERT INTO call_intent (id, instance, holder, process, time, record) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [left.id, nil, left.holder, left.process, left.timeText, left.recordText])
            }
        }
        let store = try SQLiteStore(path: path)
        let entries = try await store.audit.entries()
        #expect(entries.map(\.record.tool) == ["left"])
        #expect(entries.first?.record.upstreamStatus == CallIntent.interruptedStatus)
        let tables = try await store.database.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(!tables.contains("call_intent"))
        #expect(try await store.audit.verify().isIntact)
    }

    @Test func aStoreClosedWithEveryCallFinishedLeavesNoFile() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let finished = Self.intent("finished", by: .current)
        try await store.intents.write([finished])
        try await store.audit.append([Self.finalRecord(of: finished)])
        #expect(try Self.files(of: store).count == 1)
        try await store.close()
        #expect(try Self.files(of: store).isEmpty)
    }

    @Test func startingRemovesTheFinishedFilesOfStoppedProcesses() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let done = Self.intent("done")
        try FileManager.default.createDirectory(atPath: store.journal.folder, withIntermediateDirectories: true)
        let stopped = "\(store.journal.folder)/stopped-run-x-1.log"
        try ("warden-intents 1 \(Self.stopped.holder) \(Self.stopped.process)\n+ \(done.id) - \(done.timeText) \(done.recordText)\n- \(done.id)\n")
            .write(toFile: stopped, atomically: false, encoding: .utf8)
        let running = "\(store.journal.folder)/running-run-x-1.log"
        try "warden-intents 1 1@\(Self.host) running-run\n".write(toFile: running, atomically: false, encoding: .utf8)

        #expect(try await store.intents.recover(.leftBehind(), by: .current, now: Date()).recovered == 0)
        #expect(!FileManager.default.fileExists(atPath: stopped), "a stopped process's finished file is removed")
        #expect(FileManager.default.fileExists(atPath: running), "a running process's file is left alone")
        #expect(try await store.audit.entries().isEmpty)
    }
}
