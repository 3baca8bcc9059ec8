import AsyncHTTPClient
import Foundation
import JWTKit
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WardenJSON
import WardenPolicy

/// Turns bearer JWTs from an identity provider into callers: the signature is checked against
/// the provider's keys (JWKS), then expiry, issuer and audience; the configured claims become
/// the identity's name and labels.
final class JWTVerifier: Sendable {
    let configuration: GatewayConfiguration.JWTAuthentication
    private let keys: Mutex<Keys>
    private let logger: Logger
    /// The fetch a token naming an unknown key started (others wait for it), and when the
    /// last one started: at most one per `refetchIntervalSeconds`.
    private let refetch = Mutex<(running: Task<Void, Never>?, last: ContinuousClock.Instant?)>((nil, nil))

    /// The signing keys, and their ids.
    struct Keys: Sendable {
        var collection: JWTKeyCollection
        var ids: Set<String>
    }

    /// Why a token was refused; said to the client (it holds no secret).
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// Loads the keys (reading the file or fetching the URL once).
    init(configuration: GatewayConfiguration.JWTAuthentication, logger: Logger) async throws {
        self.configuration = configuration
        self.logger = logger
        self.keys = Mutex(try await Self.loadKeys(configuration.keys))
    }

    /// Fetches the keys again every `interval` until cancelled (for a JWKS URL; keys rotate).
    func refreshPeriodically(every interval: Duration = .seconds(600)) async {
        guard case .url = configuration.keys else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await reload(because: "the periodic refresh")
        }
    }

    /// Fetches the keys again; a failure keeps the previous ones.
    private func reload(because reason: String) async {
        do {
            let fresh = try await Self.loadKeys(configuration.keys)
            keys.withLock { $0 = fresh }
            logger.info("fetched the JWT signing keys", metadata: ["why": "\(reason)", "keys": "\(fresh.ids.sorted().joined(separator: ","))"])
        } catch {
            logger.error("could not refresh the JWT signing keys; the previous ones stay in use", metadata: ["error": "\(error)"])
        }
    }

    /// A token names a key (`kid`) the set does not hold: the provider may have rotated in a
    /// new one. The keys are fetched again at once, unless a fetch for this reason started
    /// less than `refetchIntervalSeconds` ago (tokens with made-up ids cannot make Warden
    /// hammer the provider); tokens arriving during a fetch wait for it.
    private func refetchForUnknownKey(_ kid: String) async {
        guard case .url = configuration.keys else { return }
        let interval = Duration.seconds(configuration.refetchIntervalSeconds)
        let fetch = refetch.withLock { state -> Task<Void, Never>? in
            if let running = state.running { return running }
            let now = ContinuousClock.now
            if let last = state.last, now - last < interval { return nil }
            state.last = now
            let task = Task {
                await self.reload(because: "a token named the unknown key \(kid)")
                self.refetch.withLock { $0.running = nil }
            }
            state.running = task
            return task
        }
        await fetch?.value
    }

    /// The key id (`kid`) in a token's header, if it has one.
    static func keyID(of token: String) -> String? {
        guard let header = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first, header.utf8.count <= 4096 else {
            return nil
        }
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), case .string(let kid)? = (try? JSONReader.parse(Array(data)))?["kid"] else { return nil }
        return kid
    }

    /// The largest JWKS document read (1 MiB).
    static let maxDocumentBytes = 1 << 20

    static func loadKeys(_ source: GatewayConfiguration.JWTAuthentication.KeySource) async throws -> Keys {
        let json: String
        switch source {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw Refusal(description: "cannot read the JWKS file \(path)") }
            json = String(decoding: data, as: UTF8.self)
        case .url(let address):
            guard URL(string: address) != nil else { throw Refusal(description: "not a URL: \(address)") }
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: address), timeout: .seconds(30))
            guard response.status == .ok else {
                throw Refusal(description: "fetching the JWKS \(address) answered \(response.status.code)")
            }
            json = String(buffer: try await response.body.collect(upTo: maxDocumentBytes))
        }
        let collection = JWTKeyCollection()
        try await collection.add(jwksJSON: json)
        let ids = (try? JSONReader.parse(Array(json.utf8)))?["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? []
        return Keys(collection: collection, ids: Set(ids))
    }

    /// The caller a token stands for, or the reason it is refused.
    func caller(for token: String) async throws(Refusal) -> Caller {
        if let kid = Self.keyID(of: token), !self.keys.withLock({ $0.ids.contains(kid) }) {
            await refetchForUnknownKey(kid)
            guard self.keys.withLock({ $0.ids.contains(kid) }) else {
                throw Refusal(description: "the token is signed with a key (kid \(kid)) the identity provider does not publish")
            }
        }
        let keys = self.keys.withLock { $0.collection }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(description: "the token's signature or format is not valid")
        }
        if let issuer = configuration.issuer, claims.values["iss"]?.text != issuer {
            throw Refusal(description: "the token was not issued by \(issuer)")
        }
        if let audience = configuration.audience, !(claims.values["aud"]?.texts.contains(audience) ?? false) {
            throw Refusal(description: "the token is not meant for \(audience)")
        }
        guard let name = claims.values[configuration.identityClaim]?.text, !name.isEmpty else {
            throw Refusal(description: "the token has no \(configuration.identityClaim) claim to name its identity")
        }
        var labels: [String: String] = [:]
        for (label, claim) in configuration.labelClaims {
            if let value = claims.values[claim]?.text { labels[label] = value }
        }
        return Caller(
            identity: Identity(name: name, labels: labels), owner: "jwt:" + name,
            servers: configuration.servers.map(Set.init), policyPath: configuration.policyPath)
    }
}

/// Every claim of a token, whatever its name; valid only while unexpired.
struct Claims: JWTPayload {
    enum Value: Codable, Sendable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case strings([String])
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                self = .string(string)
            } else if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let strings = try? container.decode([String].self) {
                self = .strings(strings)
            } else {
                self = .other
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let string): try container.encode(string)
            case .number(let number): try container.encode(number)
            case .bool(let bool): try container.encode(bool)
            case .strings(let strings): try container.encode(strings)
            case .other: try container.encodeNil()
            }
        }

        /// The value as a label or name: strings as they are, numbers and booleans spelled out.
        var text: String? {
            switch self {
            case .string(let string): string
            case .number(let number): number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .bool(let bool): String(bool)
            case .strings, .other: nil
            }
        }

        /// The value as a list (`aud` may be one string or several).
        var texts: [String] {
            switch self {
            case .strings(let strings): strings
            default: text.map { [$0] } ?? []
            }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var values: [String: Value]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var values: [String: Value] = [:]
        for key in container.allKeys { values[key.stringValue] = try container.decode(Value.self, forKey: key) }
        self.values = values
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (key, value) in values { try container.encode(value, forKey: Key(stringValue: key)) }
    }

    /// Tokens must expire, and be valid now (a minute's leeway for clocks).
    func verify(using algorithm: some JWTAlgorithm) async throws {
        let now = Date().timeIntervalSince1970
        guard case .number(let expiry)? = values["exp"] else { throw JWTVerifier.Refusal(description: "the token has no expiry (exp)") }
        if expiry < now - 60 { throw JWTVerifier.Refusal(description: "the token has expired") }
        if case .number(let notBefore)? = values["nbf"], notBefore > now + 60 {
            throw JWTVerifier.Refusal(description: "the token is not valid yet (nbf)")
        }
    }
}
