import Foundation
import GRDB
import Synchronization
import Testing
import WardenPolicy

@testable import WardenStore

/// The ledger's own connection swaps on the calling thread, and turns a swap away rather than
/// wait for anything.
@Suite struct CounterSwapConnectionTests {
    /// A store's file, and a second connection to it standing for another process.
    func aFileAndAnotherConnection() throws -> (path: String, other: DatabaseQueue) {
        let path = temporaryDatabasePath()
        _ = try SQLiteStore(path: path)
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        return (path, try DatabaseQueue(path: path, configuration: configuration))
    }

    func swapOne(_ db: Database) throws -> Bool {
        try db.execute(sql: "INSERT INTO counter (key, amount, window_end) VALUES ('k', '1', 0)")
        return true
    }

    @Test func aSwapRunsOnTheCallingThread() throws {
        let connection = try CounterSwapConnection(path: try aFileAndAnotherConnection().path, gate: LogRestartGate())
        let caller = pthread_self()
        var swappedOn: pthread_t?
        #expect(connection.swapWithoutWaiting { db in
            swappedOn = pthread_self()
            return try swapOne(db)
        } == true)
        #expect(swappedOn.map { pthread_equal($0, caller) != 0 } == true)
    }

    @Test func aSwapIsTurnedAwayWhileAnotherConnectionHoldsTheWriteLock() throws {
        let (path, other) = try aFileAndAnotherConnection()
        let connection = try CounterSwapConnection(path: path, gate: LogRestartGate())
        try other.inDatabase { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        // Turned away at once: waiting would have taken the store's busy timeout (10 s).
        var outcome: Bool??
        let elapsed = ContinuousClock().measure { outcome = connection.swapWithoutWaiting(swapOne) }
        #expect(outcome == .some(nil))
        #expect(elapsed < .seconds(5))
        try other.inDatabase { db in try db.execute(sql: "COMMIT") }
        #expect(connection.swapWithoutWaiting(swapOne) == true)
        #expect(try other.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM counter") } == 1)
    }

    @Test func aSecondCallerIsTurnedAwayWhileTheFirstSwaps() throws {
        let connection = try CounterSwapConnection(path: try aFileAndAnotherConnection().path, gate: LogRestartGate())
        var inner: Bool??
        #expect(connection.swapWithoutWaiting { db in
            inner = connection.swapWithoutWaiting(swapOne)
            return try swapOne(db)
        } == true)
        #expect(inner == .some(nil))
    }

    @Test func aFailedSwapChangesNothing() throws {
        let (path, other) = try aFileAndAnotherConnection()
        let connection = try CounterSwapConnection(path: path, gate: LogRestartGate())
        #expect(connection.swapWithoutWaiting { db in
            try db.inTransaction(.immediate) {
                _ = try swapOne(db)
                try db.execute(sql: "INSERT INTO no_such_table VALUES (1)")
                return .commit
            }
            return true
        } == nil)
        #expect(try other.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM counter") } == 0)
    }

    @Test func swapsAreTurnedAwayFromACheckpointUntilTheLogStartsOver() throws {
        let gate = LogRestartGate()
        var checkpoints = 0
        gate.committed(pages: LogRestartGate.checkpointAfter - 1) { checkpoints += 1 }
        #expect(checkpoints == 0)
        #expect(gate.enterSwap())
        gate.leaveSwap()
        // A long log is checkpointed; the next write might start it over: no swap makes it.
        gate.committed(pages: LogRestartGate.checkpointAfter) { checkpoints += 1 }
        #expect(checkpoints == 1)
        #expect(!gate.enterSwap())
        // A commit after which the log is no shorter has not started it over.
        gate.committed(pages: LogRestartGate.checkpointAfter + 5) { checkpoints += 1 }
        #expect(!gate.enterSwap())
        // The writer's commit that started it over (the log is short again) opens the gate.
        gate.committed(pages: 2) { checkpoints += 1 }
        #expect(checkpoints == 2)
        #expect(gate.enterSwap())
        #expect(!gate.enterSwap())  // one swap at a time
        gate.leaveSwap()
    }

    @Test func theStoresWriterCheckpointsAndStartsTheLogOver() async throws {
        // Writes through the store's writer past a checkpoint: its connection's WAL hook
        // checkpoints (the gate closes), and a later commit starts the log over (it opens).
        let path = temporaryDatabasePath()
        let store = try SQLiteStore(path: path)
        var closed = false
        var reopened = false
        for round in 0..<3_000 where !reopened {
            // A new key: always the writer's transaction (a swap needs a cached count).
            #expect(try await store.ledger.reserve([reservation("round\(round)", max: 10)]) == nil)
            if store.logRestarts.logMayStartOver { closed = true } else if closed { reopened = true }
        }
        #expect(closed && reopened)
        // Checkpointed, the log's file stays near 1,000 pages of 4 KiB.
        let logSize = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        #expect(logSize < 8 << 20)
    }

    @Test func aReservationIsSwappedWhileTheWritersQueueIsBusy() async throws {
        // The store's writer queue is held by a block that waits; a swap needs none of it.
        let path = temporaryDatabasePath()
        let ledger = try SQLiteStore(path: path).ledger
        let limit = reservation(max: 5)
        #expect(try await ledger.reserve([limit]) == nil)
        let writerHeld = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let writerDone = DispatchSemaphore(value: 0)
        let releasedInTime = Mutex(false)
        Thread.detachNewThread {
            ledger.database.writeWithoutTransaction { _ in
                writerHeld.signal()
                // Let go after 10 s at most: a reservation that needed the queue then fails
                // the test instead of hanging it.
                let outcome = release.wait(timeout: .now() + 10)
                releasedInTime.withLock { $0 = outcome == .success }
            }
            writerDone.signal()
        }
        writerHeld.wait()
        #expect(try await ledger.reserve([limit]) == nil)
        release.signal()
        writerDone.wait()
        #expect(releasedInTime.withLock { $0 })
        #expect(try await SQLiteStore(path: path).ledger.snapshot(of: [limit.key])[limit.key] == 2)
    }

    @Test func aReservationTurnedAwayWaitsForTheLockOnTheWriterQueue() async throws {
        let (path, other) = try aFileAndAnotherConnection()
        let ledger = try SQLiteStore(path: path).ledger
        let limit = reservation(max: 5)
        // The first reservation writes the row; the second would be a swap on the calling thread.
        #expect(try await ledger.reserve([limit]) == nil)
        try other.inDatabase { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let waiting = Task { try await ledger.reserve([limit]) }
        try await Task.sleep(for: .milliseconds(100))
        try other.inDatabase { db in try db.execute(sql: "COMMIT") }
        #expect(try await waiting.value == nil)
        #expect(try await SQLiteStore(path: path).ledger.snapshot(of: [limit.key])[limit.key] == 2)
    }
}
