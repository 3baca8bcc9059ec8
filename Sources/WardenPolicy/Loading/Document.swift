public import WardenJSON

/// A document read from JSON or YAML into a ``JSONValue``, with the line and column of every
/// node so problems can be reported where they are written.
public struct Document: Sendable {
    /// The document's value.
    public var value: JSONValue
    /// The position of every node, by pointer (for an object member, its key's).
    public var positions: [JSONPointer: JSONPosition]

    /// A decoder for this document's problems, reporting against `file`.
    public func decoder(file: String?) -> DocumentDecoder {
        DocumentDecoder(file: file, positions: positions)
    }

    /// Reads `bytes` as `format`; throws the syntax problem, located.
    public static func read(_ bytes: [UInt8], format: PolicyFormat, file: String?) throws(PolicyLoadError) -> Document {
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
