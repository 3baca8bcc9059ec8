import Synchronization

/// Grants already read and decoded, by the hash of their token. What a token grants never
/// changes: a grant can only be rotated (its token hash changes) or revoked, and every
/// authentication checks both in the file first; so a cached grant is never stale, and a
/// token's grant is decoded once, not on every request.
final class DecodedGrants: Sendable {
    /// The most grants kept; past it, the cache starts again empty.
    static let capacity = 4096

    private let grants = Mutex<[String: Grant]>([:])

    /// The grant cached for `tokenHash`, if it is the grant `id`.
    func grant(forTokenHash tokenHash: String, id: String) -> Grant? {
        grants.withLock { $0[tokenHash] }.flatMap { $0.id == id ? $0 : nil }
    }

    func remember(_ grant: Grant, forTokenHash tokenHash: String) {
        grants.withLock { grants in
            if grants.count >= Self.capacity { grants.removeAll(keepingCapacity: true) }
            grants[tokenHash] = grant
        }
    }

    func forget(tokenHash: String) {
        _ = grants.withLock { $0.removeValue(forKey: tokenHash) }
    }
}
