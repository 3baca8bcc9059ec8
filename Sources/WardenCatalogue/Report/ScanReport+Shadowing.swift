extension ScanReport {
    /// Adds a finding of cross-server shadowing (``ShadowingDetector``) to the tool it names:
    /// check `shadowing`, high when the tool is hidden on the aggregated endpoint, low when
    /// the name only repeats another server's.
    public mutating func add(_ shadowing: ShadowingFinding) {
        guard let index = tools.firstIndex(where: { $0.name == shadowing.tool }) else { return }
        let finding = Finding(
            check: "shadowing", severity: shadowing.severity == .high ? .high : .low,
            message: "\(shadowing.kind.rawValue): \(shadowing.explanation)", matched: PoisoningChecks.visible(shadowing.evidence), location: "name")
        tools[index].findings.append(finding)
        tools[index].findings.sort { $0.severity > $1.severity }
    }
}
