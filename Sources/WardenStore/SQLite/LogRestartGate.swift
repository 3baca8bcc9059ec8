import GRDB
import GRDBSQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeps the swaps of a ``CounterSwapConnection`` from ever being the write that starts the
/// SQLite log (WAL) over: that write syncs the log's new header to disk (an `fdatasync`, even
/// with `synchronous = NORMAL`), which must not happen on an event loop.
///
/// The log starts over at the first write after a checkpoint has copied all of it into the
/// database. So the store's own connections checkpoint themselves, from a WAL hook run after
/// each of their commits (as SQLite's automatic checkpoint does, after 1,000 pages): the
/// checkpoint waits for a swap in progress (it takes microseconds), and from then on swaps are
/// turned away (to the writer queue) until a commit of the store's writer has started the log
/// over. Another process's checkpoint is not seen here: a swap after it may still be the write
/// that starts the log over.
final class LogRestartGate: Sendable {
    /// Pages in the log past which a commit checkpoints it (SQLite's default).
    static let checkpointAfter = 1_000

    private let swapping = Atomic<Bool>(false)
    /// The pages in the log at the last checkpoint, while the log has not started over since;
    /// zero when it has.
    private let checkpointedAt = Atomic<Int>(0)

    /// Takes the gate for a swap: `false` when another swap has it, or the log may start over.
    func enterSwap() -> Bool {
        guard takeSwapping() else { return false }
        guard !logMayStartOver else {
            leaveSwap()
            return false
        }
        return true
    }

    /// Whether a checkpoint has been made since the log last started over: the next write
    /// may start it over, and no swap may be that write.
    var logMayStartOver: Bool { checkpointedAt.load(ordering: .sequentiallyConsistent) != 0 }

    /// Takes the gate if no swap or checkpoint has it.
    private func takeSwapping() -> Bool {
        swapping.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func leaveSwap() {
        swapping.store(false, ordering: .releasing)
    }

    /// After a commit of one of the store's connections, with `pages` in the log: notes that
    /// the log has started over (it is shorter than at the checkpoint), and checkpoints when
    /// it is long, with swaps kept out.
    func committed(pages: Int, checkpoint: () -> Void) {
        let checkpointed = checkpointedAt.load(ordering: .sequentiallyConsistent)
        if checkpointed > 0 && pages < checkpointed {
            checkpointedAt.store(0, ordering: .sequentiallyConsistent)
        }
        guard pages >= Self.checkpointAfter else { return }
        while !takeSwapping() { sched_yield() }
        checkpointedAt.store(pages, ordering: .sequentiallyConsistent)
        checkpoint()
        leaveSwap()
    }

    /// Makes `db` report its commits to this gate, and checkpoint through it (this replaces
    /// SQLite's automatic checkpoint on that connection). The gate must outlive the connection.
    func watch(_ db: Database) {
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, pages in
                let gate = Unmanaged<LogRestartGate>.fromOpaque(context!).takeUnretainedValue()
                gate.committed(pages: Int(pages)) {
                    _ = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                }
                return SQLITE_OK
            },
            Unmanaged.passUnretained(self).toOpaque())
    }
}
