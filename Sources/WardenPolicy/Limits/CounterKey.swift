public import WardenJSON

/// Identifies one count: a counter, for one scope subject, in one window.
public struct CounterKey: Sendable, Hashable, CustomStringConvertible {
    /// The counter's name.
    public let counter: ExactName
    /// The scope it is counted in.
    public let scope: LimitScope
    /// Who it is counted for: the grant, identity, session or server; empty for `global`.
    public let subject: String
    /// The window's start, in seconds since the epoch.
    public let windowStart: Int64
    /// The window's length in seconds.
    public let windowLength: Int64
    /// The hash of the fields above, computed once: a key is looked up several times a call
    /// (the ledger's cache, its plan, the reservation), and hashing its strings each time cost
    /// more than the lookups themselves.
    private let fieldsHash: Int

    public init(counter: String, scope: LimitScope, subject: String, windowStart: Int64, windowLength: Int64) {
        self.counter = ExactName(counter)
        self.scope = scope
        self.subject = subject
        self.windowStart = windowStart
        self.windowLength = windowLength
        var hasher = Hasher()
        hasher.combine(self.counter)
        hasher.combine(scope)
        hasher.combine(subject)
        hasher.combine(windowStart)
        hasher.combine(windowLength)
        fieldsHash = hasher.finalize()
    }

    public static func == (lhs: CounterKey, rhs: CounterKey) -> Bool {
        lhs.fieldsHash == rhs.fieldsHash && lhs.windowStart == rhs.windowStart && lhs.windowLength == rhs.windowLength
            && lhs.scope == rhs.scope && lhs.counter == rhs.counter && lhs.subject == rhs.subject
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fieldsHash)
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
