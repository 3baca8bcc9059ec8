extension String {
    /// Whether the two strings have the same UTF-8 bytes: byte-exact equality, without the
    /// Unicode canonical equivalence of `==` (`"é"` is not `"e\u{301}"` here).
    @inlinable
    public func hasSameBytes(as other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        var lhs = self
        var rhs = other
        return lhs.withUTF8 { a in rhs.withUTF8 { b in a.elementsEqual(b) } }
    }
}
