import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file beside a SQLite database (`warden.db-grants`) that every change to a grant, by any
/// process, replaces once committed (``SQLiteGrantStore``): its identity and time are the
/// ``GrantChangeSignal`` of the database's ``GrantCache``, read with one `stat(2)` per request.
/// A grant changed with plain SQL is not stamped; the cache's one-second bound covers it.
/// Without a stamp (one that could not be written is removed) nothing is kept.
final class GrantStamp: GrantChangeSignal {
    let path: String

    /// The stamp of the database at `databasePath`, made if it is missing.
    init(besideDatabase databasePath: String) {
        path = databasePath + "-grants"
        if !FileManager.default.fileExists(atPath: path) { changed() }
    }

    var watched: (isWatching: Bool, generation: UInt64) {
        var status = stat()
        guard stat(path, &status) == 0 else { return (false, 0) }
        let nanoseconds = UInt64(truncatingIfNeeded: status.st_mtim.tv_sec) &* 1_000_000_000
            &+ UInt64(truncatingIfNeeded: status.st_mtim.tv_nsec)
        return (true, UInt64(truncatingIfNeeded: status.st_ino) &* 0x9E37_79B9_7F4A_7C15 ^ nanoseconds ^ UInt64(status.st_size))
    }

    func startWatching() {}

    /// Replaces the stamp (a new file, renamed over the old one, so its identity changes even
    /// within the file system's time resolution). Failing that, removes it.
    func changed() {
        let temporary = path + ".\(CallIntent.newID().prefix(8))"
        if FileManager.default.createFile(atPath: temporary, contents: Data(CallIntent.newID().utf8)), rename(temporary, path) == 0 {
            return
        }
        unlink(temporary)
        unlink(path)
    }
}
