import Synchronization

/// What tells a ``GrantCache`` that grants may have changed: PostgreSQL's `warden_grants`
/// announcements (``ChannelListener``), or a SQLite database's grant stamp (``GrantStamp``).
protocol GrantChangeSignal: Sendable {
    /// Whether changes are watched now, and a value that differs from one read earlier
    /// whenever a grant may have changed in between (or watching stopped meanwhile).
    var watched: (isWatching: Bool, generation: UInt64) { get }

    /// Starts watching, if it does not already.
    func startWatching()

    /// Tells the signal that this process changed a grant (committed): the signal moves for
    /// this process at once, and for others as its kind of signal carries it.
    func changed()
}

/// The grants of tokens seen, kept between requests so that authenticating a request reads no
/// database, for as long as they provably have not changed: an entry is trusted only while its
/// store's ``GrantChangeSignal`` is watched and has not moved since the entry was read, and
/// never longer than ``longestTrust`` (a signal that failed without noticing, such as a
/// listening connection cut off by a network partition, cannot keep a revoked token alive past
/// that).
///
/// Unknown tokens are not kept: a stream of made-up tokens can neither fill the cache nor
/// hide a grant created afterwards.
final class GrantCache: Sendable {
    private struct Entry {
        let grant: Grant
        let generation: UInt64
        let read: ContinuousClock.Instant
    }

    /// The most entries kept; past it the cache starts again empty.
    static let capacity = 10_000

    let signal: any GrantChangeSignal
    /// How long a grant read is trusted at most, whatever the signal says.
    let longestTrust: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(signal: any GrantChangeSignal, longestTrust: Duration = .seconds(1)) {
        self.signal = signal
        self.longestTrust = longestTrust
    }

    /// The active grant of the token hashed as `tokenHash`: kept, or found with `find` (and
    /// kept when the answer can be trusted until the signal moves).
    func grant(tokenHash: String, find: () async throws -> Grant?) async throws -> Grant? {
        signal.startWatching()
        let (isWatching, generation) = signal.watched
        let now = ContinuousClock.now
        if isWatching, let entry = entries.withLock({ $0[tokenHash] }), entry.generation == generation,
            now - entry.read < longestTrust
        {
            return entry.grant
        }
        let grant = try await find()
        if isWatching, let grant {
            entries.withLock { entries in
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
                entries[tokenHash] = Entry(grant: grant, generation: generation, read: now)
            }
        }
        return grant
    }

    /// Tells the signal that this process has just changed a grant (rotated, revoked).
    func grantsChanged() {
        signal.changed()
    }
}
