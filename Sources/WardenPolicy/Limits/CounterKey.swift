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
    /// percent-escaped so that no name can forge another key. Written byte by byte: it names
    /// the count in the store on every call that counts there.
    public var description: String {
        var text: [UInt8] = []
        text.reserveCapacity(counter.value.utf8.count + subject.utf8.count + 48)
        Self.appendEscaped(counter.value, to: &text)
        text.append(UInt8(ascii: "|"))
        Self.appendEscaped(scope.rawValue, to: &text)
        text.append(UInt8(ascii: "|"))
        Self.appendEscaped(subject, to: &text)
        text.append(UInt8(ascii: "|"))
        text.append(contentsOf: String(windowStart).utf8)
        text.append(UInt8(ascii: "+"))
        text.append(contentsOf: String(windowLength).utf8)
        return String(decoding: text, as: UTF8.self)
    }

    /// `part` with `%` written `%25` and `|` written `%7C`.
    private static func appendEscaped(_ part: String, to text: inout [UInt8]) {
        guard part.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "|") }) else {
            text.append(contentsOf: part.utf8)
            return
        }
        for byte in part.utf8 {
            switch byte {
            case UInt8(ascii: "%"): text.append(contentsOf: [UInt8(ascii: "%"), UInt8(ascii: "2"), UInt8(ascii: "5")])
            case UInt8(ascii: "|"): text.append(contentsOf: [UInt8(ascii: "%"), UInt8(ascii: "7"), UInt8(ascii: "C")])
            default: text.append(byte)
            }
        }
    }
}
