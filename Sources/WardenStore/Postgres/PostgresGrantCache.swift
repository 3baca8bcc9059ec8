import Synchronization

/// The grants of tokens seen, kept between requests so that authenticating a request costs no
/// statement, for as long as they provably have not changed: entries are trusted only while
/// the store listens on `warden_grants`, where a trigger announces every change to a grant
/// (revoked, rotated, deleted, by any instance or by hand), and only if nothing was announced,
/// and listening never stopped, since the entry was read (``ChannelListener/generation``).
/// Any announcement empties the cache as far as lookups are concerned, so a revocation on one
/// instance reaches every other within the time PostgreSQL takes to deliver a notification.
/// And no entry is trusted longer than ``longestTrust``: a listening connection cut off without
/// noticing (a network partition) misses announcements, but keeps nothing past that.
///
/// Unknown tokens are not kept: a stream of made-up tokens can neither fill the cache nor
/// hide a grant created afterwards.
final class PostgresGrantCache: Sendable {
    private struct Entry {
        let grant: Grant
        let generation: UInt64
        let read: ContinuousClock.Instant
    }

    /// How long a grant read is trusted at most, announcements or not.
    let longestTrust: Duration

    /// The most entries kept; past it the cache starts again empty.
    static let capacity = 10_000

    /// The channel grant changes are announced on (by trigger `warden_grant_changed`).
    static let channel = "warden_grants"

    let listener: ChannelListener
    private let entries = Mutex<[String: Entry]>([:])

    init(listener: ChannelListener, longestTrust: Duration = .seconds(1)) {
        self.listener = listener
        self.longestTrust = longestTrust
    }

    /// The active grant of the token hashed as `tokenHash`: kept, or found with `find` (and
    /// kept when the answer can be trusted until the next announcement).
    func grant(tokenHash: String, find: () async throws -> Grant?) async throws -> Grant? {
        listener.startListening()
        let (isListening, generation) = listener.listening
        let now = ContinuousClock.now
        if isListening, let entry = entries.withLock({ $0[tokenHash] }), entry.generation == generation,
            now - entry.read < longestTrust
        {
            return entry.grant
        }
        let grant = try await find()
        if isListening, let grant {
            entries.withLock { entries in
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
                entries[tokenHash] = Entry(grant: grant, generation: generation, read: now)
            }
        }
        return grant
    }
}
