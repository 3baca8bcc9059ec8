import Foundation
import Testing
import WardenCatalogue
import WardenPolicy

@testable import WardenGateway

/// `pin:`, `on_drift:`, `on_poisoning:` and `poisoning_severity:` in the gateway configuration.
@Suite struct PinningConfigurationTests {
    static func load(_ text: String) throws -> GatewayConfiguration {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-pin-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try #"version: "1""#.write(to: folder.appending(path: "p.yaml"), atomically: true, encoding: .utf8)
        let file = folder.appending(path: "warden.yaml").path
        return try GatewayConfiguration.load(Array(text.utf8), file: file, environment: [:])
    }

    @Test func pinningSettingsAndPerServerOverrides() throws {
        let configuration = try Self.load("""
            version: "1"
            pin: locks/warden.lock
            on_poisoning: log
            poisoning_severity: critical
            servers:
              a: {command: [a], policy: p.yaml}
              b: {command: [b], policy: p.yaml, on_drift: require_approval, on_poisoning: block}
            """)
        #expect(configuration.pinning.lockPath?.hasSuffix("/locks/warden.lock") == true)
        let a = configuration.guardConfiguration(for: configuration.servers[0], pins: nil)
        let b = configuration.guardConfiguration(for: configuration.servers[1], pins: nil)
        #expect(a.onDrift == .block && a.onPoisoning == .log && a.poisoningSeverity == .critical)
        #expect(b.onDrift == .requireApproval && b.onPoisoning == .block)
    }

    @Test func poisoningIsOffAndNothingIsPinnedByDefault() throws {
        let configuration = try Self.load("""
            version: "1"
            servers: {a: {command: [a], policy: p.yaml}}
            """)
        #expect(configuration.pinning.lockPath == nil)
        #expect(!configuration.guardConfiguration(for: configuration.servers[0], pins: nil).isActive)
    }

    @Test(arguments: [
        "on_drift: sometimes\npin: x.lock",
        "on_drift: block",
        "on_poisoning: deny",
    ])
    func invalidSettingsAreReported(_ line: String) {
        #expect(throws: PolicyLoadError.self) {
            try Self.load("version: \"1\"\n\(line)\nservers: {a: {command: [a], policy: p.yaml}}")
        }
    }
}
