import GRDB

/// A connection of the ledger's own to the database, for the compare-and-swap that makes most
/// reservations: it runs on the calling thread when it can do so without waiting, and saves
/// the call two thread hand-overs (to GRDB's writer queue and back), which were most of the
/// CPU time a SQLite limit added to a call.
///
/// It never waits, so it never blocks the event loop or task that calls it: it is used by one
/// caller at a time (a second caller meanwhile is turned away), SQLite's busy timeout is zero
/// (when another connection or process holds the write lock, the swap is refused at once), it
/// never checkpoints the log, and it is kept from being the write that starts the log over
/// (``LogRestartGate``). What it does is CPU work and a write into the page cache (WAL with
/// `synchronous = NORMAL` does not sync a commit), like the ``IntentJournal``'s line. A swap
/// it cannot make is made on the writer queue instead.
final class CounterSwapConnection: Sendable {
    private let connection: DatabaseQueue
    private let gate: LogRestartGate

    /// Opens a connection to the database at `path`, whose schema is already up to date and
    /// whose own connections report their commits to `gate`.
    init(path: String, gate: LogRestartGate) throws {
        // Opening may wait (as the store's own connections do, for processes opening the file
        // together); swapping never does: the timeout is then set to zero.
        var configuration = SQLiteStore.connectionConfiguration { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        configuration.label = "warden.counter-swap"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        try connection.inDatabase { db in try db.execute(sql: "PRAGMA busy_timeout = 0") }
        self.gate = gate
    }

    /// Runs `swap` on the calling thread and returns its result, or `nil` when that would
    /// have meant waiting (another caller has the connection, SQLite's write lock is taken, or
    /// the log may start over) or it failed; the caller then makes the swap on the writer
    /// queue, where a failure is reported. A failed `swap` has changed nothing: it is one
    /// statement or one transaction.
    func swapWithoutWaiting(_ swap: (Database) throws -> Bool) -> Bool? {
        guard gate.enterSwap() else { return nil }
        defer { gate.leaveSwap() }
        return try? connection.inDatabase(swap)
    }

    func close() throws {
        try connection.close()
    }
}
