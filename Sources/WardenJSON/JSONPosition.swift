/// A line and column in a document, both counted from 1; columns count Unicode scalars.
public struct JSONPosition: Sendable, Hashable, CustomStringConvertible {
    /// The line, from 1.
    public var line: Int
    /// The column, from 1, in Unicode scalars.
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The position of byte `offset` in `bytes`.
    static func of(offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> JSONPosition {
        var line = 1
        var column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONPosition(line: line, column: column)
    }

    /// `line:column`
    public var description: String { "\(line):\(column)" }
}
