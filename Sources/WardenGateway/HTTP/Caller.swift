import WardenPolicy
import WardenStore

/// Who is calling the HTTP gateway, as established from their bearer token.
struct Caller: Sendable {
    /// The identity policies see.
    var identity: Identity
    /// What sessions are bound to: the grant id, or `anonymous`.
    var owner: String
    /// The servers the caller may reach; `nil` for every server.
    var servers: Set<String>?
    /// The policy file deciding the caller's calls; `nil` for each server's own.
    var policyPath: String?

    /// The caller of a gateway running without tokens (loopback development only).
    static let anonymous = Caller(identity: Identity(name: "anonymous"), owner: "anonymous", servers: nil, policyPath: nil)

    init(identity: Identity, owner: String, servers: Set<String>?, policyPath: String?) {
        self.identity = identity
        self.owner = owner
        self.servers = servers
        self.policyPath = policyPath
    }

    /// The caller holding `grant`.
    init(grant: Grant) {
        self.init(
            identity: Identity(name: grant.identity, grant: grant.id, labels: grant.identityLabels),
            owner: grant.id,
            servers: Set(grant.servers),
            policyPath: grant.policy)
    }

    func mayReach(_ server: String) -> Bool {
        servers?.contains(server) ?? true
    }

    /// The bearer token of an `Authorization` header value, if it is one: the scheme
    /// `Bearer` in any case, then the token, spaces and tabs around it ignored.
    static func bearerToken(in header: String?) -> String? {
        guard let header else { return nil }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let bytes = header.utf8.drop(while: isBlank)
        let scheme = bytes.prefix(while: { !isBlank($0) })
        // ASCII letters compared without their case bit (0x20).
        guard scheme.count == 6, scheme.elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
        var token = bytes.dropFirst(6).drop(while: isBlank)
        while let last = token.last, isBlank(last) { token = token.dropLast() }
        return token.isEmpty ? nil : String(decoding: token, as: UTF8.self)
    }
}
