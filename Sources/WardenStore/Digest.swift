import Crypto
public import WardenJSON

/// SHA-256 digests, hex-encoded, for the audit chain and argument and policy hashes.
public enum Digest {
    /// SHA-256 of `bytes`, as lowercase hex.
    public static func sha256(_ bytes: some Collection<UInt8>) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(bytes)) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// SHA-256 of the canonical form of `value`: compact JSON with keys sorted by their bytes.
    public static func canonical(_ value: JSONValue) -> String {
        var bytes: [UInt8] = []
        JSONWriter.write(value, sortKeys: true, to: &bytes)
        return sha256(bytes)
    }
}
