public import Foundation

/// The public ids and bearer secrets every store makes, and what it keeps of a secret.
public enum Secrets {
    /// A new public id: `prefix` and 8 URL-safe characters (48 random bits), e.g. `g_4f2k9q7m`.
    public static func newID(prefix: String) -> String {
        prefix + randomString(bytes: 6)
    }

    /// A new bearer secret: `prefix` and 43 URL-safe characters (256 random bits).
    public static func newSecret(prefix: String) -> String {
        prefix + randomString(bytes: 32)
    }

    /// What a store keeps of a secret: its SHA-256, hex.
    public static func hash(_ secret: String) -> String {
        Digest.sha256(secret.utf8)
    }

    /// `bytes` random bytes from the system's secure generator, as unpadded base64url.
    static func randomString(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
