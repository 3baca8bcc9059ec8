import Crypto
public import WardenJSON

/// SHA-256 digests, hex-encoded, for the audit chain and argument and policy hashes.
public enum Digest {
    /// SHA-256 of `bytes`, as lowercase hex.
    public static func sha256(_ bytes: some Collection<UInt8>) -> String {
        bytes.withContiguousStorageIfAvailable { sha256(UnsafeRawBufferPointer($0)) } ?? sha256(Array(bytes))
    }

    /// SHA-256 of the canonical form of `value`: compact JSON with keys sorted by their bytes.
    public static func canonical(_ value: JSONValue) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        JSONWriter.write(value, sortKeys: true, to: &bytes)
        return sha256(bytes)
    }

    /// SHA-256 of the bytes in `buffer`, hashed in place, as lowercase hex.
    private static func sha256(_ buffer: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: buffer)
        return hex(hasher.finalize())
    }

    /// `digest` as lowercase hex, written straight into the string's storage.
    private static func hex(_ digest: SHA256Digest) -> String {
        digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { text in
                for (index, byte) in bytes.enumerated() {
                    text[2 * index] = hexDigit(byte >> 4)
                    text[2 * index + 1] = hexDigit(byte & 0xF)
                }
                return bytes.count * 2
            }
        }
    }

    /// The lowercase hexadecimal digit of a value under 16.
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
