import WardenJSON

/// Loads policies and test-case files from JSON or YAML text.
///
/// Loading never reads files itself: the caller passes the bytes and the file name used in
/// problem reports. Every problem in the document is reported at once, each with its line,
/// column and JSON Pointer.
public enum PolicyLoader {
    /// Loads a policy.
    /// - Parameters:
    ///   - bytes: The document, UTF-8.
    ///   - file: The name shown in problem reports, and used to tell JSON from YAML.
    ///   - format: The syntax; detected from `file` and the content when `nil`.
    public static func load(
        _ bytes: some Collection<UInt8>,
        file: String? = nil,
        format: PolicyFormat? = nil
    ) throws(PolicyLoadError) -> Policy {
        let bytes = Array(bytes)
        let source = try Document.read(bytes, format: format ?? .detect(file: file, bytes: bytes), file: file)
        var decoder = source.decoder(file: file)
        guard var policy = decoder.decodePolicy(source.value) else {
            throw PolicyLoadError(problems: decoder.problems, warnings: decoder.warnings)
        }
        policy.warnings = PolicyProblem.inDocumentOrder(decoder.warnings)
        return policy
    }

    /// Loads a policy from YAML text.
    public static func load(yaml: String, file: String? = nil) throws(PolicyLoadError) -> Policy {
        try load(Array(yaml.utf8), file: file, format: .yaml)
    }

    /// Loads a policy from JSON text.
    public static func load(json: String, file: String? = nil) throws(PolicyLoadError) -> Policy {
        try load(Array(json.utf8), file: file, format: .json)
    }

    /// Loads test cases: a list of cases, or an object whose only key is `tests`.
    public static func loadTestCases(
        _ bytes: some Collection<UInt8>,
        file: String? = nil,
        format: PolicyFormat? = nil
    ) throws(PolicyLoadError) -> [PolicyTestCase] {
        let bytes = Array(bytes)
        let source = try Document.read(bytes, format: format ?? .detect(file: file, bytes: bytes), file: file)
        var decoder = source.decoder(file: file)
        var cases: [PolicyTestCase] = []
        if case .object = source.value {
            if let object = decoder.object(source.value, at: .root, keys: ["tests"], required: ["tests"]),
                let tests = object["tests"]
            {
                cases = decoder.decodeTestCases(tests, at: JSONPointer.root.appending("tests"))
            }
        } else {
            cases = decoder.decodeTestCases(source.value, at: .root)
        }
        guard decoder.problems.isEmpty else { throw PolicyLoadError(problems: decoder.problems) }
        return cases
    }
}
