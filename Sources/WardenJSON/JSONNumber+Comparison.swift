extension JSONNumber {
    /// Whether `bytes` is exactly JSON number syntax: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    public static func isValidSyntax(_ bytes: some Collection<UInt8>) -> Bool {
        var index = bytes.startIndex
        func peek() -> UInt8? { index < bytes.endIndex ? bytes[index] : nil }
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        func digits() -> Int {
            var count = 0
            while isDigit(peek()) {
                index = bytes.index(after: index)
                count += 1
            }
            return count
        }
        if peek() == UInt8(ascii: "-") { index = bytes.index(after: index) }
        if peek() == UInt8(ascii: "0") {
            index = bytes.index(after: index)
        } else if digits() == 0 {
            return false
        }
        if peek() == UInt8(ascii: ".") {
            index = bytes.index(after: index)
            guard digits() > 0 else { return false }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index = bytes.index(after: index)
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index = bytes.index(after: index) }
            guard digits() > 0 else { return false }
        }
        return index == bytes.endIndex
    }

    /// The number as sign, significant digits and the decimal exponent of the first digit.
    ///
    /// The value is `0.d1d2d3... × 10^exponent` (negated when `negative`); zero has no digits.
    /// Exponents saturate far beyond any representable difference, so huge exponents compare
    /// correctly without overflow.
    struct Decomposed {
        var negative: Bool
        /// Byte ranges of the significant digits in `text`'s UTF-8, leading and trailing zeros removed.
        var digits: [UInt8]
        var exponent: Int
    }

    func decomposed() -> Decomposed {
        let bytes = Array(text.utf8)
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count)
        var pointPosition: Int?
        var leadingZeros = 0
        var seenNonZero = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                pointPosition = digits.count + leadingZeros
            } else if byte >= 0x30 && byte <= 0x39 {
                if byte == 0x30 && !seenNonZero {
                    leadingZeros += 1
                } else {
                    seenNonZero = true
                    digits.append(byte)
                }
            } else {
                break
            }
            index += 1
        }
        let integerDigits = (pointPosition ?? (digits.count + leadingZeros)) - leadingZeros
        var exponent = 0
        if index < bytes.count {
            // An exponent: e, optional sign, digits. Saturate at a bound no text can reach.
            index += 1
            var exponentNegative = false
            if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let limit = Int.max / 4
            while index < bytes.count {
                exponent = exponent >= limit / 10 ? limit : exponent * 10 + Int(bytes[index] - 0x30)
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        while digits.last == 0x30 { digits.removeLast() }
        if digits.isEmpty { return Decomposed(negative: false, digits: [], exponent: 0) }
        return Decomposed(negative: negative, digits: digits, exponent: integerDigits + exponent)
    }

    /// Whether the value has no fractional part.
    public var isInteger: Bool {
        let parts = decomposed()
        return parts.digits.isEmpty || parts.exponent >= parts.digits.count
    }

    /// Whether the value is strictly below zero (`-0` is not).
    public var isNegative: Bool {
        decomposed().negative
    }

    /// The value as the nearest `Double`: for display and metrics only.
    public var doubleValue: Double {
        Double(text) ?? .nan
    }

    /// The exact value, if it is a whole number that fits in `Int`.
    public var intValue: Int? {
        let parts = decomposed()
        guard parts.digits.isEmpty || (parts.exponent >= parts.digits.count && parts.exponent <= 19) else { return nil }
        var magnitude: UInt64 = 0
        for position in 0..<max(parts.exponent, 0) {
            let digit = position < parts.digits.count ? UInt64(parts.digits[position] - 0x30) : 0
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            magnitude = sum
        }
        if parts.negative {
            return magnitude <= UInt64(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int.max) ? Int(magnitude) : nil
    }

    /// The value as `mantissa × 10^-scale` when it is written without an exponent and with at
    /// most 18 digits: the common case, compared without allocating.
    public var smallDecimal: (mantissa: Int64, scale: Int)? {
        var mantissa: Int64 = 0
        var scale = 0
        var digits = 0
        var negative = false
        var afterPoint = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"): negative = true
            case UInt8(ascii: "."): afterPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                guard digits <= 18 else { return nil }
                mantissa = mantissa * 10 + Int64(byte - UInt8(ascii: "0"))
                if afterPoint { scale += 1 }
            default: return nil
            }
        }
        return (negative ? -mantissa : mantissa, scale)
    }

    /// -1, 0 or 1 as `lhs` is less than, equal to or greater than `rhs`, exactly.
    static func compare(_ lhs: JSONNumber, _ rhs: JSONNumber) -> Int {
        if let a = lhs.smallDecimal, let b = rhs.smallDecimal {
            var (x, y) = (a.mantissa, b.mantissa)
            var overflow = false
            if a.scale < b.scale {
                (x, overflow) = x.multipliedReportingOverflow(by: powerOfTen(b.scale - a.scale))
            } else if b.scale < a.scale {
                (y, overflow) = y.multipliedReportingOverflow(by: powerOfTen(a.scale - b.scale))
            }
            if !overflow { return x < y ? -1 : (x == y ? 0 : 1) }
        }
        let a = lhs.decomposed()
        let b = rhs.decomposed()
        let signA = a.digits.isEmpty ? 0 : (a.negative ? -1 : 1)
        let signB = b.digits.isEmpty ? 0 : (b.negative ? -1 : 1)
        if signA != signB { return signA < signB ? -1 : 1 }
        if signA == 0 { return 0 }
        var magnitude: Int
        if a.exponent != b.exponent {
            magnitude = a.exponent < b.exponent ? -1 : 1
        } else {
            magnitude = 0
            for position in 0..<max(a.digits.count, b.digits.count) {
                let x = position < a.digits.count ? a.digits[position] : 0x30
                let y = position < b.digits.count ? b.digits[position] : 0x30
                if x != y {
                    magnitude = x < y ? -1 : 1
                    break
                }
            }
        }
        return signA * magnitude
    }
}

private func powerOfTen(_ exponent: Int) -> Int64 {
    var result: Int64 = 1
    for _ in 0..<exponent { result &*= 10 }
    return result
}

extension JSONNumber: Comparable, Hashable {
    /// Equal by exact decimal value: `1`, `1.0` and `10e-1` are equal.
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        compare(lhs, rhs) == 0
    }

    public static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// Hashes the normalised value, so equal numbers hash alike.
    public func hash(into hasher: inout Hasher) {
        let parts = decomposed()
        hasher.combine(parts.negative)
        hasher.combine(parts.digits)
        hasher.combine(parts.exponent)
    }
}
