/// Splits a byte stream into newline-delimited messages (the MCP stdio framing), refusing
/// lines longer than a limit without buffering them.
public struct LineFramer: Sendable {
    /// One framed item.
    public enum Line: Sendable, Equatable {
        /// A complete line, without its `\n` (and without a `\r` before it).
        case message([UInt8])
        /// A line longer than the limit; its bytes were dropped, but its id was looked for.
        case tooLong(MessageEnvelope)
    }

    /// The longest line accepted, in bytes.
    public let maxLineLength: Int
    private var buffer: [UInt8] = []
    private var discarding: EnvelopeScanner?

    public init(maxLineLength: Int) {
        self.maxLineLength = maxLineLength
    }

    /// Feeds bytes and returns the lines they complete.
    public mutating func append(_ bytes: some Collection<UInt8>) -> [Line] {
        var lines: [Line] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
            let piece = rest[..<(newline ?? rest.endIndex)]
            if discarding != nil {
                discarding?.scan(piece)
            } else if buffer.count + piece.count > maxLineLength {
                var scanner = EnvelopeScanner()
                scanner.scan(buffer)
                scanner.scan(piece)
                discarding = scanner
                buffer.removeAll()
            } else {
                buffer.append(contentsOf: piece)
            }
            guard let newline else { break }
            if let line = endLine() { lines.append(line) }
            rest = rest[rest.index(after: newline)...]
        }
        return lines
    }

    /// Ends the current line at a newline: the line, nothing for an empty one, or the
    /// notice of an over-long one.
    private mutating func endLine() -> Line? {
        if let scanner = discarding {
            discarding = nil
            return .tooLong(scanner.result())
        }
        if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
        defer { buffer.removeAll(keepingCapacity: true) }
        return buffer.isEmpty ? nil : .message(buffer)
    }

    /// The unterminated line left at end of input, if any.
    public mutating func finish() -> Line? {
        defer {
            buffer.removeAll()
            discarding = nil
        }
        if let scanner = discarding { return .tooLong(scanner.result()) }
        return buffer.isEmpty ? nil : .message(buffer)
    }
}
