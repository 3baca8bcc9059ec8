import Foundation
import Synchronization

/// Which `warden serve` instance this is, as named in the ids it hands out.
///
/// Several instances behind a load balancer share one store, but a Streamable HTTP session
/// (its server process, its stream) lives in the instance that opened it. Every session id
/// (and every stateless `requestState`) is `<instance>.<64 random hex digits>`, so the load
/// balancer can route a session's requests to its owner by the id's prefix, and an instance
/// reached with another's id can say whose it is. The name is `listen.instance`, or derived
/// from the listening address once the port is known (see ``derivedName(host:port:)``).
final class GatewayInstance: Sendable {
    private let configured: String?
    private let derived = Mutex<String?>(nil)

    init(configured: String?) {
        self.configured = configured
    }

    /// The instance's name: the configured one, else the one derived when it listened, else
    /// (before that, in tests that never listen) `local`.
    var name: String {
        configured ?? derived.withLock { $0 } ?? "local"
    }

    /// Records the address listened on, from which an unconfigured name is derived.
    func listened(host: String, port: Int) {
        derived.withLock { $0 = Self.derivedName(host: host, port: port) }
    }

    /// A fresh id owned by this instance: `<instance>.<256 random bits in hex>`.
    func newIdentifier() -> String {
        name + "." + Self.randomHex()
    }

    /// The instance that handed out `identifier`, when it has one's form; `nil` otherwise
    /// (an id of an older version, or made up).
    static func owner(of identifier: String) -> String? {
        guard let dot = identifier.firstIndex(of: ".") else { return nil }
        let owner = String(identifier[..<dot])
        return isValidName(owner) ? owner : nil
    }

    /// The other instance `identifier` names as its owner; `nil` when it is this one's, or nobody's.
    func foreignOwner(of identifier: String) -> String? {
        guard let owner = Self.owner(of: identifier), owner != name else { return nil }
        return owner
    }

    /// The name an instance listening on `host:port` gets when none is configured: the
    /// address with every character but letters and digits turned to `-` (`127.0.0.1:8081` →
    /// `127-0-0-1-8081`); on a wildcard host, the machine's host name instead of the address,
    /// so that instances on several machines differ.
    static func derivedName(host: String, port: Int) -> String {
        let wildcard = ["0.0.0.0", "::", "", "*"].contains(host)
        let base = wildcard ? ProcessInfo.processInfo.hostName : host
        let name = String((base + "-" + String(port)).map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        return String(name.suffix(63))
    }

    /// Whether `name` may name an instance: 1 to 63 ASCII letters, digits or `-`.
    static func isValidName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    /// 256 random bits, as 64 hex digits.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }
}
