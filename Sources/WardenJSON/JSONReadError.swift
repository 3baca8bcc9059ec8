/// Why a document is not acceptable JSON, and where.
///
/// The description names keys but never string or number values, which may be secrets.
public struct JSONReadError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        case emptyInput
        case byteOrderMark
        case unexpectedEndOfInput
        case unexpectedCharacter
        case invalidUTF8
        case invalidEscape
        /// A `\u` escape of a lone UTF-16 surrogate.
        case invalidUnicodeEscape
        case controlCharacterInString
        case invalidNumber
        case duplicateKey(String)
        case tooDeep(limit: Int)
        case trailingCharacters
    }

    /// What is wrong.
    public var kind: Kind
    /// The byte offset of the problem.
    public var offset: Int
    /// The line of the problem, from 1.
    public var line: Int
    /// The column of the problem, from 1, in Unicode scalars.
    public var column: Int

    public init(kind: Kind, offset: Int, line: Int, column: Int) {
        self.kind = kind
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// What is wrong, without the position: `duplicate key "a"`.
    public var kindDescription: String {
        switch kind {
        case .emptyInput: "empty input"
        case .byteOrderMark: "a byte order mark (BOM) is not allowed"
        case .unexpectedEndOfInput: "unexpected end of input"
        case .unexpectedCharacter: "unexpected character"
        case .invalidUTF8: "invalid UTF-8"
        case .invalidEscape: "invalid escape sequence"
        case .invalidUnicodeEscape: "invalid \\u escape (lone surrogate)"
        case .controlCharacterInString: "unescaped control character in string"
        case .invalidNumber: "invalid number"
        case .duplicateKey(let key): "duplicate key \"\(key)\""
        case .tooDeep(let limit): "nesting deeper than \(limit) levels"
        case .trailingCharacters: "unexpected characters after the JSON value"
        }
    }

    /// `duplicate key "a" at line 1, column 10`
    public var description: String {
        "\(kindDescription) at line \(line), column \(column)"
    }
}
