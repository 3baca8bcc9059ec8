#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    public mutating func append(_ bytes: [UInt8]) -> [Line] {
        append(bytes[...])
    }

    /// Feeds bytes and returns the lines they complete.
    public mutating func append(_ bytes: ArraySlice<UInt8>) -> [Line] {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// Feeds bytes read into a buffer (a channel's), without copying them first.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> [Line] {
        append(bytes.assumingMemoryBound(to: UInt8.self))
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) -> [Line] {
        var lines: [Line] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let newline = Self.firstNewline(in: rest)
            let piece = UnsafeBufferPointer(rebasing: rest[..<(newline ?? rest.endIndex)])
            if let newline, buffer.isEmpty, discarding == nil, piece.count <= maxLineLength {
                // The common case: a whole line inside one read, copied once.
                let line = piece.last == UInt8(ascii: "\r") ? UnsafeBufferPointer(rebasing: piece.dropLast()) : piece
                if !line.isEmpty { lines.append(.message(Array(line))) }
                rest = rest[(newline + 1)...]
                continue
            }
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
            rest = rest[(newline + 1)...]
        }
        return lines
    }

    /// The index of the first `\n` in `bytes` (found with `memchr`), if any.
    private static func firstNewline(in bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        let base = bytes.base.baseAddress! + bytes.startIndex
        guard let found = memchr(base, Int32(UInt8(ascii: "\n")), bytes.count) else { return nil }
        return bytes.startIndex + (UnsafeRawPointer(found) - UnsafeRawPointer(base))
    }

    /// Ends the current line at a newline: the line, nothing for an empty one, or the
    /// notice of an over-long one.
    private mutating func endLine() -> Line? {
        if let scanner = discarding {
            discarding = nil
            return .tooLong(scanner.result())
        }
        if buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
        // Handed over, not kept: the next line would copy storage the size of the largest so far.
        defer { buffer = [] }
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
