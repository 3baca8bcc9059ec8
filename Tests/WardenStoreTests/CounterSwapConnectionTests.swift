import Foundation
import GRDB
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
        let connection = try CounterSwapConnection(path: try aFileAndAnotherConnection().path)
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
        let connection = try CounterSwapConnection(path: path)
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
        let connection = try CounterSwapConnection(path: try aFileAndAnotherConnection().path)
        var inner: Bool??
        #expect(connection.swapWithoutWaiting { db in
            inner = connection.swapWithoutWaiting(swapOne)
            return try swapOne(db)
        } == true)
        #expect(inner == .some(nil))
    }

    @Test func aFailedSwapChangesNothing() throws {
        let (path, other) = try aFileAndAnotherConnection()
        let connection = try CounterSwapConnection(path: path)
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
