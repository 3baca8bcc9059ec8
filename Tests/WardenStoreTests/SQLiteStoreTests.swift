import Foundation
import GRDB
import Synchronization
import Testing
import WardenJSON
import WardenPolicy

@testable import WardenStore

/// A database file in a fresh temporary folder.
func temporaryDatabasePath() -> String {
    FileManager.default.temporaryDirectory.appending(path: "warden-store-\(UUID().uuidString)/warden.db").path
}

func reservation(_ counter: String = "c", amount: CounterAmount = 1, max: CounterAmount, windowStart: Int64? = nil) -> CounterReservation {
    let start = windowStart ?? (Int64(Date().timeIntervalSince1970) / 3600 * 3600)
    return CounterReservation(
        key: CounterKey(counter: counter, scope: .global, subject: "", windowStart: start, windowLength: 3600),
        amount: amount, max: max, rule: JSONPointer("/tools/t/limits/0")!)
}

/// Two ledgers on one file, standing for two processes sharing a database.
func ledgersSharingAFile() throws -> (path: String, first: SQLiteCounterLedger, second: SQLiteCounterLedger) {
    let path = temporaryDatabasePath()
    return (path, try SQLiteStore(path: path).counters, try SQLiteStore(path: path).counters)
}

@Suite struct SQLiteCounterLedgerTests {
    @Test func reservesUpToMaxAndRollsBack() async throws {
        let ledger = try SQLiteStore(path: temporaryDatabasePath()).counters
        let one = reservation(max: 2)
        #expect(try await ledger.reserve([one]) == nil)
        #expect(try await ledger.reserve([one]) == nil)
        #expect(try await ledger.reserve([one]) == one)
        #expect(try await ledger.snapshot(of: [one.key])[one.key] == 2)
        try await ledger.rollBack([one])
        #expect(try await ledger.snapshot(of: [one.key])[one.key] == 1)
        #expect(try await ledger.reserve([one]) == nil)
    }

    @Test func blockingFormsShareTheCounts() async throws {
        let ledger = try SQLiteStore(path: temporaryDatabasePath()).counters
        let limit = reservation(max: 2)
        #expect(try ledger.reserveNow([limit]) == nil)
        #expect(try await ledger.reserve([limit]) == nil)
        #expect(try ledger.reserveNow([limit]) == limit)
        #expect(try ledger.snapshotNow(of: [limit.key])[limit.key] == 2)
        try ledger.rollBackNow([limit])
        #expect(try await ledger.snapshot(of: [limit.key])[limit.key] == 1)
        #expect(try SQLiteStore(path: ledger.database.path).counters.snapshotNow(of: [limit.key])[limit.key] == 1)
    }

    @Test func reservationsAreAllOrNothing() async throws {
        let ledger = try SQLiteStore(path: temporaryDatabasePath()).counters
        let roomy = reservation("a", max: 10)
        let tight = reservation("b", max: 1)
        #expect(try await ledger.reserve([roomy, tight]) == nil)
        #expect(try await ledger.reserve([roomy, tight]) == tight)
        #expect(try await ledger.snapshot(of: [roomy.key])[roomy.key] == 1)
    }

    @Test func decimalAmountsStayExact() async throws {
        let ledger = try SQLiteStore(path: temporaryDatabasePath()).counters
        let budget = { (amount: String) in reservation("spend", amount: CounterAmount(amount)!, max: CounterAmount("0.3")!) }
        #expect(try await ledger.reserve([budget("0.1")]) == nil)
        #expect(try await ledger.reserve([budget("0.2")]) == nil)
        #expect(try await ledger.reserve([budget("0.0000001")]) != nil)
        #expect(try await ledger.snapshot(of: [budget("0").key])[budget("0").key] == CounterAmount("0.3"))
    }

    @Test func countsSurviveReopening() async throws {
        let path = temporaryDatabasePath()
        let one = reservation(max: 1)
        #expect(try await SQLiteStore(path: path).counters.reserve([one]) == nil)
        #expect(try await SQLiteStore(path: path).counters.reserve([one]) == one)
    }

    @Test func endedWindowsAreForgotten() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let old = reservation(max: 1, windowStart: 0)
        #expect(try await store.counters.reserve([old]) == nil)
        // The first reservation of a ledger (a new process) deletes counts of windows that have ended.
        _ = try await SQLiteStore(path: store.database.path).counters.reserve([reservation("other", max: 1)])
        let keys = try await store.database.read { db in try String.fetchAll(db, sql: "SELECT key FROM counter") }
        #expect(keys == [reservation("other", max: 1).key.description])
    }

    @Test func anotherProcessesCountsAreSeenOnRefusal() async throws {
        // Two stores on one file stand for two processes: the second ledger's cached count is
        // stale, its reservation is refused, and the retry sees the real count.
        let (_, first, second) = try ledgersSharingAFile()
        let limit = reservation(max: 2)
        #expect(try await second.snapshot(of: [limit.key])[limit.key] == 0)
        #expect(try await first.reserve([limit]) == nil)
        #expect(try await first.reserve([limit]) == nil)
        #expect(try await second.snapshot(of: [limit.key])[limit.key] == 0)
        #expect(try await second.reserve([limit]) == limit)
        #expect(try await second.snapshot(of: [limit.key])[limit.key] == 2)
    }

    @Test func aStaleCacheNeverLosesAnotherProcessesCounts() throws {
        // The first ledger's swap expects the count it cached; the second counted since, so the
        // swap changes nothing and the transaction counts on the real amount.
        let (path, first, second) = try ledgersSharingAFile()
        let limit = reservation(max: 10)
        #expect(try first.reserveNow([limit]) == nil)
        #expect(try second.reserveNow([limit]) == nil)
        #expect(try first.reserveNow([limit]) == nil)
        #expect(try second.reserveNow([limit]) == nil)
        #expect(try SQLiteStore(path: path).counters.snapshotNow(of: [limit.key])[limit.key] == 4)
    }

    @Test func aCountGivenBackElsewhereCanBeUsedAgain() throws {
        // The first ledger's cache says the limit is full; the second gave one back, and the
        // transaction that the full cache leads to finds the room.
        let (_, first, second) = try ledgersSharingAFile()
        let limit = reservation(max: 2)
        #expect(try first.reserveNow([limit]) == nil)
        #expect(try first.reserveNow([limit]) == nil)
        try second.rollBackNow([limit])
        #expect(try first.reserveNow([limit]) == nil)
        #expect(try first.reserveNow([limit]) == limit)
    }

    @Test func swapsOfSeveralCountsAreAllOrNothing() throws {
        // Both counts are cached; another ledger changed the second since. The first count's
        // swap is undone with the second's failure, and the transaction counts each once.
        let (path, first, second) = try ledgersSharingAFile()
        let a = reservation("a", max: 10)
        let b = reservation("b", max: 10)
        #expect(try first.reserveNow([a, b]) == nil)
        #expect(try second.reserveNow([b]) == nil)
        #expect(try first.reserveNow([a, b]) == nil)
        let counts = try SQLiteStore(path: path).counters.snapshotNow(of: [a.key, b.key])
        #expect(counts[a.key] == 2)
        #expect(counts[b.key] == 3)
    }

    @Test func aCounterNamedTwiceInOneCallIsSwappedOnce() throws {
        // Two limits of one call on the same count (an all_tools limit and the tool's own).
        let ledger = try SQLiteStore(path: temporaryDatabasePath()).counters
        let roomy = reservation(max: 10)
        let tight = reservation(max: 4)
        #expect(try ledger.reserveNow([roomy, tight]) == nil)
        #expect(try ledger.reserveNow([roomy, tight]) == nil)
        #expect(try ledger.reserveNow([roomy, tight]) == tight)
        #expect(try SQLiteStore(path: ledger.database.path).counters.snapshotNow(of: [roomy.key])[roomy.key] == 4)
    }

    @Test func theEnforcerStaysExactAcrossProcesses() async throws {
        let path = temporaryDatabasePath()
        let policy = try PolicyLoader.load(yaml: "tools:\n  t:\n    limits: [{window: day, max: 5, scope: global}]\n")
        let enforcers = [
            PolicyEnforcer(policy: policy, ledger: try SQLiteStore(path: path).counters),
            PolicyEnforcer(policy: policy, ledger: try SQLiteStore(path: path).counters),
        ]
        var outcomes: [Decision.Outcome] = []
        for index in 0..<8 {
            outcomes.append(try await enforcers[index % 2].decide(ToolCall(tool: "t"), now: Date()).outcome)
        }
        #expect(outcomes.filter { $0 == .allow }.count == 5)
        #expect(outcomes.suffix(3).allSatisfy { $0 == .deny })
    }

    @Test func twoStoresOnOneFileNeverExceedTheLimit() async throws {
        // Two store objects on one file stand for two `warden run` processes sharing a database.
        let path = temporaryDatabasePath()
        let ledgers = [try SQLiteStore(path: path).counters, try SQLiteStore(path: path).counters]
        let limit = reservation(max: 40)
        let allowed = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                let ledger = ledgers[worker % 2]
                group.addTask {
                    var allowed = 0
                    for _ in 0..<10 where try await ledger.reserve([limit]) == nil {
                        allowed += 1
                    }
                    return allowed
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(allowed == 40)
        #expect(try await ledgers[0].snapshot(of: [limit.key])[limit.key] == 40)
    }
}

@Suite struct AuditLogTests {
    func record(_ tool: String, decision: String = "allow", identity: String = "alice", at time: Date = Date()) -> AuditRecord {
        AuditRecord(
            time: time, requestID: "1", identity: identity, session: "s", server: "srv", method: "tools/call", tool: tool,
            decision: decision, rule: "/tools/\(tool)", message: "allowed", argumentKeys: ["a", "b"],
            argumentsHash: Digest.canonical(["b": 1, "a": 2]), upstreamStatus: "ok", latencyMilliseconds: 1.25, policyHash: "p")
    }

    func filledLog(_ count: Int = 5) async throws -> (AuditLog, DatabasePool) {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        try await store.audit.append((1...count).map { record("tool_\($0)") })
        return (store.audit, store.database)
    }

    @Test func appendsAndReadsBack() async throws {
        let (log, _) = try await filledLog(3)
        let entries = try await log.entries()
        #expect(entries.map(\.sequence) == [1, 2, 3])
        #expect(entries.map(\.record.tool) == ["tool_1", "tool_2", "tool_3"])
        #expect(entries[0].previousHash == AuditLog.genesisHash)
        #expect(entries[1].previousHash == entries[0].hash)
        #expect(entries[0].record.argumentKeys == ["a", "b"])
        #expect(entries[0].record.latencyMilliseconds == 1.25)
        #expect(try await log.verify().isIntact)
        #expect(try await log.verify().checked == 3)
    }

    @Test func recordsNeverHoldArgumentValues() {
        let text = JSONWriter.write(record("t").json)
        #expect(!text.contains("\"b\":1"))
        #expect(text.contains(Digest.canonical(["a": 2, "b": 1])))
    }

    @Test func filtersByToolDecisionIdentityTimeAndLimit() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let old = Date(timeIntervalSinceNow: -7200)
        try await store.audit.append([
            record("a", at: old), record("b", decision: "deny"), record("a", identity: "bob"), record("c"),
        ])
        #expect(try await store.audit.entries(.init(tool: "a")).map(\.sequence) == [1, 3])
        #expect(try await store.audit.entries(.init(decision: "deny")).map(\.sequence) == [2])
        #expect(try await store.audit.entries(.init(identity: "bob")).map(\.sequence) == [3])
        #expect(try await store.audit.entries(.init(since: Date(timeIntervalSinceNow: -3600))).map(\.sequence) == [2, 3, 4])
        #expect(try await store.audit.entries(.init(limit: 2)).map(\.sequence) == [3, 4])
        #expect(try await store.audit.entries(.init(afterSequence: 3)).map(\.sequence) == [4])
    }

    @Test func anEditedRecordIsFound() async throws {
        let (log, database) = try await filledLog()
        try await database.write { db in
            try db.execute(sql: "UPDATE audit SET record = replace(record, '\"allow\"', '\"deny\"') WHERE seq = 3")
        }
        let result = try await log.verify()
        #expect(result.firstBroken?.sequence == 3)
        #expect(result.firstBroken?.reason == "its content does not match its hash")
    }

    @Test func aRecomputedHashIsFoundAtTheNextEntry() async throws {
        let (log, database) = try await filledLog()
        // A forger who rewrites entry 2 and its hash breaks the link from entry 3.
        try await database.write { db in
            try db.execute(sql: "UPDATE audit SET record = replace(record, 'tool_2', 'tool_x'), tool = 'tool_x' WHERE seq = 2")
            let text = try String.fetchOne(db, sql: "SELECT record FROM audit WHERE seq = 2")!
            let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = 1")!
            try db.execute(
                sql: "UPDATE audit SET hash = ? WHERE seq = 2",
                arguments: [AuditLog.hash(sequence: 2, recordText: text, previousHash: previous)])
        }
        #expect(try await log.verify().firstBroken?.sequence == 3)
    }

    @Test func aDeletedRecordIsFound() async throws {
        let (log, database) = try await filledLog()
        try await database.write { db in try db.execute(sql: "DELETE FROM audit WHERE seq = 2") }
        let result = try await log.verify()
        #expect(result.firstBroken?.sequence == 3)
        #expect(result.firstBroken?.reason == "entry 2 is missing")
    }

    @Test func reorderedRecordsAreFound() async throws {
        let (log, database) = try await filledLog()
        try await database.write { db in
            try db.execute(sql: "UPDATE audit SET seq = -1 WHERE seq = 2")
            try db.execute(sql: "UPDATE audit SET seq = 2 WHERE seq = 4")
            try db.execute(sql: "UPDATE audit SET seq = 4 WHERE seq = -1")
        }
        #expect(try await log.verify().firstBroken?.sequence == 2)
    }

    @Test func theWriterFlushesEverythingQueued() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let writer = AuditWriter(log: store.audit) { _ in }
        for index in 0..<100 { writer.record(record("t\(index)")) }
        await writer.flush()
        #expect(try await store.audit.entries(.init(limit: 1000)).count == 100)
        #expect(try await store.audit.verify().isIntact)
    }

    @Test func cancellingTheWriterStillWritesEverything() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let failures = Mutex(0)
        let writer = AuditWriter(log: store.audit) { _ in failures.withLock { $0 += 1 } }
        for index in 0..<200 { writer.record(record("t\(index)")) }
        let running = Task { await writer.run(interval: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(2))
        for index in 200..<300 { writer.record(record("t\(index)")) }
        running.cancel()
        await running.value
        #expect(try await store.audit.entries(.init(limit: 1000)).count == 300)
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func defaultPathFollowsXDG() {
        #expect(SQLiteStore.defaultPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/warden/warden.db")
        #expect(SQLiteStore.defaultPath(environment: ["HOME": "/h"]) == "/h/.local/state/warden/warden.db")
    }
}
