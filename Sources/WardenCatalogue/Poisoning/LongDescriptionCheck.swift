/// A description far longer than its peers': room for instructions nobody reads.
enum LongDescriptionCheck {
    /// Longer than this is flagged whatever the peers are.
    static let absoluteLimit = 4000
    /// With at least 3 peers, longer than `ratio` times their median, and than `floor`, is flagged.
    static let ratio = 4
    static let floor = 800

    static func check(_ tool: ToolDefinition, peers: [ToolDefinition]) -> Finding? {
        let length = tool.description?.count ?? 0
        let others = peers.filter { $0.name != tool.name }.map { $0.description?.count ?? 0 }.sorted()
        let median = others.isEmpty ? 0 : others[others.count / 2]
        let farLonger = others.count >= 3 && length > max(ratio * median, floor)
        guard farLonger || length > absoluteLimit else { return nil }
        let compared = others.count >= 3 ? " (its peers' median is \(median))" : ""
        return Finding(
            check: "long-description", severity: length > 2 * max(ratio * median, absoluteLimit) ? .medium : .low,
            message: "The description is \(length) characters long\(compared): room for instructions nobody reads.",
            matched: PoisoningChecks.visible(tool.description ?? "", limit: 80), location: "description")
    }
}
