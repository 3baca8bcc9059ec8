import WardenJSON

/// A difference between what a lock file pinned and what a server lists: a tool whose
/// definition changed, a tool that was not pinned, or a pinned tool no longer listed.
public struct ToolDrift: Sendable, Equatable, Hashable {
    /// What kind of difference.
    public enum Kind: String, Sendable, Hashable {
        /// Listed with a definition other than the pinned one.
        case changed
        /// Listed, but not pinned (or the server is not in the lock file).
        case new
        /// Pinned, but no longer listed.
        case removed
    }

    public var kind: Kind
    /// The tool's name.
    public var tool: String
    /// The pinned hash; `nil` for a new tool.
    public var pinnedHash: String?
    /// The listed definition's hash; `nil` for a removed tool.
    public var listedHash: String?
    /// The pinned definition, when the lock file kept it.
    public var pinned: ToolDefinition?
    /// The listed definition; `nil` for a removed tool.
    public var listed: ToolDefinition?

    public init(kind: Kind, tool: String, pinned: LockFile.Tool?, listed: ToolDefinition?) {
        self.kind = kind
        self.tool = tool
        self.pinnedHash = pinned?.sha256
        self.listedHash = listed?.fingerprint
        self.pinned = pinned?.definition
        self.listed = listed
    }

    /// A readable line diff of the pinned and listed definitions (see ``DefinitionDiff``).
    public var diff: String {
        DefinitionDiff.text(from: pinned, to: listed)
    }

    /// One line for logs and audit messages: the kind and both hashes.
    public var summary: String {
        switch kind {
        case .changed: "the definition of \(tool) changed since it was pinned (sha256 \(pinnedHash ?? "-") → \(listedHash ?? "-"))"
        case .new: "\(tool) is not pinned (sha256 \(listedHash ?? "-"))"
        case .removed: "the pinned tool \(tool) is no longer listed (sha256 \(pinnedHash ?? "-"))"
        }
    }

    public static func == (lhs: ToolDrift, rhs: ToolDrift) -> Bool {
        lhs.kind == rhs.kind && lhs.tool.hasSameBytes(as: rhs.tool) && lhs.pinnedHash == rhs.pinnedHash && lhs.listedHash == rhs.listedHash
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(Array(tool.utf8))
        hasher.combine(pinnedHash)
        hasher.combine(listedHash)
    }
}

extension LockFile.Server {
    /// The drift of one listed tool against these pins: `nil` when it is pinned as listed.
    public func drift(of definition: ToolDefinition) -> ToolDrift? {
        guard let pin = self[definition.name] else {
            return ToolDrift(kind: .new, tool: definition.name, pinned: nil, listed: definition)
        }
        return pin.sha256 == definition.fingerprint ? nil : ToolDrift(kind: .changed, tool: definition.name, pinned: pin, listed: definition)
    }

    /// The drift of a listing against these pins, in listing order, then the removed tools by
    /// name. Removed tools are only reported when `complete` (the listing holds every page).
    public func drift(of listed: [ToolDefinition], complete: Bool) -> [ToolDrift] {
        var drifts = listed.compactMap(drift(of:))
        guard complete else { return drifts }
        let names = Set(listed.map { ExactName($0.name) })
        let removed = tools.filter { !names.contains($0.key) }.values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        drifts += removed.map { ToolDrift(kind: .removed, tool: $0.name, pinned: $0, listed: nil) }
        return drifts
    }
}
