public import Foundation
public import WardenJSON

/// An exact, non-negative count: a number of calls, or a sum of `increment_from` values.
///
/// Whole numbers (the common case: counting calls) are kept in an `Int64` and added and
/// compared without touching `Decimal`; anything else is an exact `Decimal` (38 significant digits).
public struct CounterAmount: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    private enum Storage: Sendable, Hashable {
        case integer(Int64)
        case decimal(Decimal)
    }

    private var storage: Storage

    /// Zero.
    public static let zero = CounterAmount(integerLiteral: 0)

    public init(integerLiteral value: Int64) {
        storage = .integer(value)
    }

    public init(_ value: Int64) {
        storage = .integer(value)
    }

    /// The exact value of `decimal`, kept as an integer when it is one.
    public init(_ decimal: Decimal) {
        storage = .decimal(decimal)
        normalize()
    }

    /// The exact value of a JSON number; `nil` if it has more precision or range than a
    /// `Decimal` holds.
    public init?(_ number: JSONNumber) {
        if let small = number.smallDecimal, small.scale == 0 {
            self.init(small.mantissa)
            return
        }
        guard let decimal = Decimal(string: number.text, locale: nil), !decimal.isNaN,
            JSONNumber(decimal.description).map({ $0 == number }) == true
        else { return nil }
        self.init(decimal)
    }

    /// Parses a decimal literal such as `60.25`.
    public init?(_ text: String) {
        guard let number = JSONNumber(text) else { return nil }
        self.init(number)
    }

    /// The value as a `Decimal`.
    public var decimalValue: Decimal {
        switch storage {
        case .integer(let value): Decimal(value)
        case .decimal(let value): value
        }
    }

    public var description: String {
        switch storage {
        case .integer(let value): String(value)
        case .decimal(let value): value.description
        }
    }

    /// Whole numbers that fit are always stored as integers, so equal amounts hash alike.
    private mutating func normalize() {
        if case .decimal(let value) = storage, let integer = Int64(value.description) {
            storage = .integer(integer)
        }
    }

    public static func + (lhs: CounterAmount, rhs: CounterAmount) -> CounterAmount {
        if case .integer(let a) = lhs.storage, case .integer(let b) = rhs.storage {
            let (sum, overflow) = a.addingReportingOverflow(b)
            if !overflow { return CounterAmount(sum) }
        }
        return CounterAmount(lhs.decimalValue + rhs.decimalValue)
    }

    public static func - (lhs: CounterAmount, rhs: CounterAmount) -> CounterAmount {
        if case .integer(let a) = lhs.storage, case .integer(let b) = rhs.storage {
            let (difference, overflow) = a.subtractingReportingOverflow(b)
            if !overflow { return CounterAmount(difference) }
        }
        return CounterAmount(lhs.decimalValue - rhs.decimalValue)
    }

    public static func < (lhs: CounterAmount, rhs: CounterAmount) -> Bool {
        if case .integer(let a) = lhs.storage, case .integer(let b) = rhs.storage { return a < b }
        return lhs.decimalValue < rhs.decimalValue
    }

    public static func == (lhs: CounterAmount, rhs: CounterAmount) -> Bool {
        if case .integer(let a) = lhs.storage, case .integer(let b) = rhs.storage { return a == b }
        return lhs.decimalValue == rhs.decimalValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage)
    }
}
