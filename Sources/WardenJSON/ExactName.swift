/// A string that compares and hashes by its exact UTF-8 bytes.
///
/// Swift's `String` equality follows Unicode canonical equivalence (`"é"` equals `"e\u{301}"`).
/// Tool names, counter names and object keys must match byte for byte, so that a look-alike
/// name can never be taken for another; this wrapper is how Warden keys them.
public struct ExactName: Sendable, Hashable, CustomStringConvertible {
    /// The string itself.
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public static func == (lhs: ExactName, rhs: ExactName) -> Bool {
        lhs.value.hasSameBytes(as: rhs.value)
    }

    public func hash(into hasher: inout Hasher) {
        var value = value
        value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { value }
}
