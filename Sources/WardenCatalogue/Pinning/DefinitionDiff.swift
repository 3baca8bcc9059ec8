/// A readable diff of two tool definitions: each written as indented JSON with sorted keys
/// (``PrettyJSON``), compared line by line. Removed lines start with `- `, added ones with
/// `+ `, and up to ``context`` unchanged lines around each change with two spaces; longer
/// unchanged runs are cut to `  …`.
public enum DefinitionDiff {
    /// Unchanged lines shown on each side of a change. The default is 2.
    public static let context = 2
    /// Definitions longer than this many lines are not compared line by line. The default is 2,000.
    public static let maxLines = 2000

    /// The diff from `old` to `new` (either may be `nil`: a new or removed tool, or a pin
    /// that kept only the hash).
    public static func text(from old: ToolDefinition?, to new: ToolDefinition?) -> String {
        let before = old.map { PrettyJSON.write($0.canonicalValue).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? []
        let after = new.map { PrettyJSON.write($0.canonicalValue).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? []
        guard before.count <= maxLines, after.count <= maxLines else {
            return "  (the definitions are over \(maxLines) lines; compare them with `warden pin --check --format json`)"
        }
        return render(edits(before, after))
    }

    enum Edit: Equatable {
        case same(String)
        case removed(String)
        case added(String)
    }

    /// The shortest edit from `a` to `b`, by longest common subsequence.
    static func edits(_ a: [String], _ b: [String]) -> [Edit] {
        let n = a.count, m = b.count
        // lengths[i][j]: the longest common subsequence of a[i...] and b[j...].
        var lengths = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lengths[i][j] = a[i] == b[j] ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
            }
        }
        var result: [Edit] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] {
                result.append(.same(a[i]))
                i += 1
                j += 1
            } else if j < m, i == n || lengths[i][j + 1] >= lengths[i + 1][j] {
                result.append(.added(b[j]))
                j += 1
            } else {
                result.append(.removed(a[i]))
                i += 1
            }
        }
        return result
    }

    /// The edits as text, unchanged runs cut to their context.
    static func render(_ edits: [Edit]) -> String {
        let changed = edits.indices.filter { if case .same = edits[$0] { false } else { true } }
        var lines: [String] = []
        var elided = false
        for (index, edit) in edits.enumerated() {
            switch edit {
            case .removed(let line): lines.append("- " + line)
            case .added(let line): lines.append("+ " + line)
            case .same(let line):
                let near = changed.contains { abs($0 - index) <= context }
                if near {
                    lines.append("  " + line)
                    elided = false
                } else if !elided {
                    lines.append("  …")
                    elided = true
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
