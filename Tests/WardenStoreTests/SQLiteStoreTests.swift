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

/// A reservation in a day-long window that starts at the current hour (by default): it cannot
/// end while a test runs, which would let the ledger forget its counts halfway (a test that ran
/// across the hour with hour-long windows saw its counts vanish).
func reservation(_ counter: String = "c", amount: CounterAmount = 1, max: CounterAmount, windowStart: Int64? = nil) -> CounterReservation {
    let start = windowStart ?? (Int64(Date().timeIntervalSince1970) / 3600 * 3600)
    return CounterReservation(
        key: CounterKey(counter: counter, scope: .global, subject: "", windowStart: start, windowLength: 86_400),
        amount: amount, max: max, rule: JSONPointer("/tools/t/limits/0")!)
}

/// Two ledgers on one file, standing for two processes sharing a database.
func ledgersSharingAFile() throws -> (path: String, first: SQLiteCounterLedger, second: SQLiteCounterLedger) {
    let path = temporaryDatabasePath()
    return (path, try SQLiteStore(path: path).ledger, try SQLiteStore(path: path).ledger)
}

@Suite struct SQLiteCounterLedgerTests {
    @Test func countsSurviveReopening() async throws {
        let path = temporaryDatabasePath()
        let one = reservation(max: 1)
        #expect(try await SQLiteStore(path: path).ledger.reserve([one]) == nil)
        #expect(try await SQLiteStore(path: path).ledger.reserve([one]) == one)
    }

    @Test func endedWindowsAreForgotten() async throws {
        let store = try SQLiteStore(path: temporaryDatabasePath())
        let old = reservation(max: 1, windowStart: 0)
        #expect(try await store.ledger.reserve([old]) == nil)
        // The first reservation of a ledger (a new process) deletes counts of windows that have ended.
        _ = try await SQLiteStore(path: store.database.path).ledger.reserve([reservation("other", max: 1)])
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

    @Test func aStaleCacheNeverLosesAnotherProcessesCounts() async throws {
        // The first ledger's swap expects the count it cached; the second counted since, so the
        // swap changes nothing and the transaction counts on the real amount.
        let (path, first, second) = try ledgersSharingAFile()
        let limit = reservation(max: 10)
        #expect(try await first.reserve([limit]) == nil)
        #expect(try await second.reserve([limit]) == nil)
        #expect(try await first.reserve([limit]) == nil)
        #expect(try await second.reserve([limit]) == nil)
        #expect(try await SQLiteStore(path: path).ledger.snapshot(of: [limit.key])[limit.key] == 4)
    }

    @Test func aCountGivenBackElsewhereCanBeUsedAgain() async throws {
        // The first ledger's cache says the limit is full; the second gave one back, and the
        // transaction that the full cache leads to finds the room.
        let (_, first, second) = try ledgersSharingAFile()
        let limit = reservation(max: 2)
        #expect(try await first.reserve([limit]) == nil)
        #expect(try await first.reserve([limit]) == nil)
        try await second.rollBack([limit])
        #expect(try await first.reserve([limit]) == nil)
        #expect(try await first.reserve([limit]) == limit)
    }

    @Test func swapsOfSeveralCountsAreAllOrNothing() async throws {
        // Both counts are cached; another ledger changed the second since. The first count's
        // swap is undone with the second's failure, and the transaction counts each once.
        let (path, first, second) = try ledgersSharingAFile()
        let a = reservation("a", max: 10)
        let b = reservation("b", max: 10)
        #expect(try await first.reserve([a, b]) == nil)
        #expect(try await second.reserve([b]) == nil)
        #expect(try await first.reserve([a, b]) == nil)
        let counts = try await SQLiteStore(path: path).ledger.snapshot(of: [a.key, b.key])
        #expect(counts[a.key] == 2)
        #expect(counts[b.key] == 3)
    }

    @Test func aCounterNamedTwiceInOneCallIsSwappedOnce() async throws {
        // Two limits of one call on the same count (an all_tools limit and the tool's own).
        let ledger = try SQLiteStore(path: temporaryDatabasePath()).ledger
        let roomy = reservation(max: 10)
        let tight = reservation(max: 4)
        #expect(try await ledger.reserve([roomy, tight]) == nil)
        #expect(try await ledger.reserve([roomy, tight]) == nil)
        #expect(try await ledger.reserve([roomy, tight]) == tight)
        #expect(try await SQLiteStore(path: ledger.database.path).ledger.snapshot(of: [roomy.key])[roomy.key] == 4)
    }

    @Test func theEnforcerStaysExactAcrossProcesses() async throws {
        let path = temporaryDatabasePath()
        let policy = try PolicyLoader.load(yaml: "tools:\n  t:\n    limits: [{window: day, max: 5, scope: global}]\n")
        let enforcers = [
            PolicyEnforcer(policy: policy, ledger: try SQLiteStore(path: path).ledger),
            PolicyEnforcer(policy: policy, ledger: try SQLiteStore(path: path).ledger),
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
        let ledgers = [try SQLiteStore(path: path).ledger, try SQLiteStore(path: path).ledger]
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

    @Test func recordsNeverHoldArgumentValues() {
        let text = JSONWriter.write(record("t").json)
        #expect(!text.contains("\"b\":1"))
        #expect(text.contains(Digest.canonical(["a": 2, "b": 1])))
    }

    @Test func defaultPathFollowsXDG() {
        #expect(SQLiteStore.defaultPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/warden/warden.db")
        #expect(SQLiteStore.defaultPath(environment: ["HOME": "/h"]) == "/h/.local/state/warden/warden.db")
    }
}
