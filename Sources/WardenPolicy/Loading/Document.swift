public import WardenJSON

/// A document read from JSON or YAML into a ``JSONValue``, with the line and column of every
/// node so problems can be reported where they are written.
public struct Document: Sendable {
    /// The document's value.
    public var value: JSONValue
    /// The position of every node, by pointer (for an object member, its key's).
    public var positions: [JSONPointer: JSONPosition]
    /// Members of YAML flow mappings that look like the rest of the previous member's value,
    /// cut off at a comma (`{on_deny: too big, try again}` has a key `try again`): by the
    /// member's pointer, the previous member written with its value quoted.
    public var commaSplits: [JSONPointer: String] = [:]

    public init(value: JSONValue, positions: [JSONPointer: JSONPosition], commaSplits: [JSONPointer: String] = [:]) {
        self.value = value
        self.positions = positions
        self.commaSplits = commaSplits
    }

    /// A decoder for this document's problems, reporting against `file`.
    public func decoder(file: String?) -> DocumentDecoder {
        DocumentDecoder(file: file, positions: positions, commaSplits: commaSplits)
    }

    /// The largest document Warden reads: 1 MiB. A policy or a configuration is a few
    /// kilobytes; the limit keeps a stray or hostile file from tying up loading.
    public static let maxBytes = 1 << 20

    /// Reads `bytes` as `format`; throws the syntax problem, located, or that the document is
    /// larger than `maxBytes`.
    public static func read(
        _ bytes: [UInt8],
        format: PolicyFormat,
        file: String?,
        maxBytes: Int = Document.maxBytes
    ) throws(PolicyLoadError) -> Document {
        guard bytes.count <= maxBytes else {
            throw PolicyLoadError(problems: [
                PolicyProblem(
                    file: file,
                    pointer: .root,
                    message: "\(file == nil ? "the document" : "the file") is too large: \(bytes.count) bytes, more than the limit of \(maxBytes) bytes (\(describe(bytes: maxBytes)))"
                )
            ])
        }
        switch format {
        case .json:
            do {
                let (value, positions) = try JSONReader.parseWithPositions(bytes)
                return Document(value: value, positions: positions)
            } catch {
                throw PolicyLoadError(problems: [
                    PolicyProblem(
                        file: file,
                        position: JSONPosition(line: error.line, column: error.column),
                        pointer: .root,
                        message: "invalid JSON: \(error.kindDescription)"
                    )
                ])
            }
        case .yaml:
            return try YAMLSource.read(bytes, file: file)
        }
    }
}

/// `1 MiB`, `512 KiB`, or a number of bytes.
private func describe(bytes: Int) -> String {
    if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) bytes"
}

/// The syntax of a policy document.
public enum PolicyFormat: String, Sendable, CaseIterable {
    case json
    case yaml

    /// The format a file's name says (`.json`, `.yaml`, `.yml`), else the one its first
    /// non-blank character suggests (`{` or `[` for JSON).
    public static func detect(file: String?, bytes: some Collection<UInt8>) -> PolicyFormat {
        if let file {
            let lowercased = file.lowercased()
            if lowercased.hasSuffix(".json") { return .json }
            if lowercased.hasSuffix(".yaml") || lowercased.hasSuffix(".yml") { return .yaml }
        }
        let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[") ? .json : .yaml
    }
}
