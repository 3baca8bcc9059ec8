public import Foundation
public import WardenJSON

/// One entry of `limits`: at most `max` per `window`, counted per `scope`.
///
/// Without `increment_from` each call counts 1; with it, each call counts the (non-negative)
/// number found at that path, which makes the limit a value budget ("at most 500 dollars a day").
public final class LimitRule: Sendable {
    /// Where this rule is, e.g. `/tools/transfer/limits/0`.
    public let pointer: JSONPointer
    /// The counter's name. Rules naming the same counter share its count.
    public let counter: String
    /// The window the count is kept in.
    public let window: LimitWindow
    /// The most the counter may reach in one window; positive.
    public let max: CounterAmount
    /// Who shares one count.
    public let scope: LimitScope
    /// Where the amount to count comes from, or `nil` to count calls.
    public let incrementFrom: ValuePath?

    public init(
        pointer: JSONPointer,
        counter: String,
        window: LimitWindow,
        max: CounterAmount,
        scope: LimitScope = .grant,
        incrementFrom: ValuePath? = nil
    ) {
        self.pointer = pointer
        self.counter = counter
        self.window = window
        self.max = max
        self.scope = scope
        self.incrementFrom = incrementFrom
    }
}

/// Who shares one count of a limit.
public enum LimitScope: String, Sendable, CaseIterable {
    /// Every caller with the same grant (token). The default.
    case grant
    /// Every call of the same identity, across grants and sessions.
    case identity
    /// One MCP session (one client connection).
    case session
    /// Every caller of the same server.
    case server
    /// Everyone: one count for the whole gateway.
    case global
}

/// A fixed counting window.
///
/// Windows are aligned to UTC calendar boundaries: `minute` windows start at second 0 of each
/// minute, `hour` at minute 0, `day` at 00:00 UTC. A window of N seconds starts at every
/// multiple of N seconds since the Unix epoch (1970-01-01T00:00:00Z).
public enum LimitWindow: Sendable, Hashable, CustomStringConvertible {
    case second
    case minute
    case hour
    case day
    /// A window of this many seconds (at least 1).
    case seconds(Int)

    /// The window's length in seconds.
    public var length: Int64 {
        switch self {
        case .second: 1
        case .minute: 60
        case .hour: 3600
        case .day: 86400
        case .seconds(let seconds): Int64(seconds)
        }
    }

    /// The start, in whole seconds since the epoch, of the window that contains `instant`.
    public func start(containing instant: Date) -> Int64 {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let remainder = seconds % length
        return seconds - (remainder < 0 ? remainder + length : remainder)
    }

    public var description: String {
        switch self {
        case .second: "second"
        case .minute: "minute"
        case .hour: "hour"
        case .day: "day"
        case .seconds(let seconds): "\(seconds)s"
        }
    }
}
