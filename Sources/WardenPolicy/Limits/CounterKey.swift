public import WardenJSON

/// Identifies one count: a counter, for one scope subject, in one window.
public struct CounterKey: Sendable, Hashable, CustomStringConvertible {
    /// The counter's name.
    public var counter: ExactName
    /// The scope it is counted in.
    public var scope: LimitScope
    /// Who it is counted for: the grant, identity, session or server; empty for `global`.
    public var subject: String
    /// The window's start, in seconds since the epoch.
    public var windowStart: Int64
    /// The window's length in seconds.
    public var windowLength: Int64

    public init(counter: String, scope: LimitScope, subject: String, windowStart: Int64, windowLength: Int64) {
        self.counter = ExactName(counter)
        self.scope = scope
        self.subject = subject
        self.windowStart = windowStart
        self.windowLength = windowLength
    }

    /// The end of the window (exclusive), in seconds since the epoch.
    public var windowEnd: Int64 { windowStart + windowLength }

    /// A readable, unambiguous form: `counter|scope|subject|start+length`, with each part
    /// percent-escaped so that no name can forge another key.
    public var description: String {
        [counter.value, scope.rawValue, subject].map(Self.escape).joined(separator: "|")
            + "|\(windowStart)+\(windowLength)"
    }

    private static func escape(_ part: String) -> String {
        guard part.utf8.contains(where: { $0 == UInt8(ascii: "|") || $0 == UInt8(ascii: "%") }) else { return part }
        return part.replacing("%", with: "%25").replacing("|", with: "%7C")
    }
}
