#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension String {
    /// Whether the two strings have the same UTF-8 bytes: byte-exact equality, without the
    /// Unicode canonical equivalence of `==` (`"é"` is not `"e\u{301}"` here).
    public func hasSameBytes(as other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        // memcmp: a generic `elementsEqual` walked the bytes one by one (9k instructions a call
        // over the names and keys a call's policy compares). Read in place where the bytes are
        // contiguous (native and small strings): one storage is equal to itself at once.
        let inPlace = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in
                a.count == 0 || a.baseAddress == b.baseAddress || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
            }
        }
        if let known = inPlace ?? nil { return known }
        var lhs = self
        var rhs = other
        return lhs.withUTF8 { a in
            rhs.withUTF8 { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
    }
}
