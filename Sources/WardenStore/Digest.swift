import Crypto
public import WardenJSON

/// SHA-256 digests, hex-encoded, for the audit chain and argument and policy hashes.
public enum Digest {
    /// SHA-256 of `bytes`, as lowercase hex.
    public static func sha256(_ bytes: some Collection<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }

    /// SHA-256 of the canonical form of `value`: compact JSON with keys sorted by their bytes.
    public static func canonical(_ value: JSONValue) -> String {
        var bytes: [UInt8] = []
        JSONWriter.write(value, sortKeys: true, to: &bytes)
        return sha256(bytes)
    }
}
