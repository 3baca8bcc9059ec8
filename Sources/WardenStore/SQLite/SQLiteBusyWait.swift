import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a store's connection waits for the write lock another connection holds: 200 tries
/// 50 µs apart (more like 100 µs with the kernel's timer slack), then every 2 ms, for about
/// 10 s in all before SQLite reports `SQLITE_BUSY`. It runs on the thread of the connection's
/// GRDB queue (and while the store opens, on the opening thread).
///
/// SQLite's own timeout sleeps 1 ms at the first retry, then longer. Most locks a store's
/// writer meets are held for tens of microseconds (the ledger's swap on its own connection,
/// ``CounterSwapConnection``, or another process's reservation), so the writer queue, and
/// every write queued behind it, would sleep many times longer than the lock was held.
enum SQLiteBusyWait {
    /// Retries every 50 µs this many times.
    static let shortRetries = 200
    /// Then every 2 ms this many times.
    static let longRetries = 5_000

    static let mode = Database.BusyMode.callback { tries in
        if tries < shortRetries {
            usleep(50)
            return true
        }
        guard tries < shortRetries + longRetries else { return false }
        usleep(2_000)
        return true
    }
}
