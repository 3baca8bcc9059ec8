/// Splits a byte stream into newline-delimited messages (the MCP stdio framing), refusing
/// lines longer than a limit without buffering them.
public struct LineFramer: Sendable {
    /// One framed item.
    public enum Line: Sendable, Equatable {
        /// A complete line, without its `\n` (and without a `\r` before it).
        case message([UInt8])
        /// A line longer than the limit; its bytes were dropped.
        case tooLong(length: Int)
    }

    /// The longest line accepted, in bytes.
    public let maxLineLength: Int
    private var buffer: [UInt8] = []
    private var discarding = 0

    public init(maxLineLength: Int) {
        self.maxLineLength = maxLineLength
    }

    /// Feeds bytes and returns the lines they complete.
    public mutating func append(_ bytes: some Collection<UInt8>) -> [Line] {
        var lines: [Line] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if discarding > 0 {
                    lines.append(.tooLong(length: discarding))
                    discarding = 0
                } else {
                    if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
                    if !buffer.isEmpty { lines.append(.message(buffer)) }
                    buffer.removeAll(keepingCapacity: true)
                }
            } else if discarding > 0 {
                discarding += 1
            } else if buffer.count >= maxLineLength {
                discarding = buffer.count + 1
                buffer.removeAll()
            } else {
                buffer.append(byte)
            }
        }
        return lines
    }

    /// The unterminated line left at end of input, if any.
    public mutating func finish() -> Line? {
        defer {
            buffer.removeAll()
            discarding = 0
        }
        if discarding > 0 { return .tooLong(length: discarding) }
        return buffer.isEmpty ? nil : .message(buffer)
    }
}
