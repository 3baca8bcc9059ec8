import Foundation
import WardenJSON

/// The committed catalogue files (`catalogue/servers/*.json`, `catalogue/policies/*.yaml`,
/// `catalogue/labels.tsv`), read from the source tree the tests were built from.
enum CatalogueFiles {
    /// The repository's `catalogue` folder.
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("catalogue")

    /// The server names with a file in `catalogue/servers`, sorted.
    static func serverNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("servers").path)
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(".json".count)) }
            .sorted()
    }

    /// `catalogue/servers/<name>.json`, parsed.
    static func report(_ name: String) throws -> JSONValue {
        try JSONReader.parse(String(decoding: Data(contentsOf: folder.appendingPathComponent("servers/\(name).json")), as: UTF8.self))
    }

    /// `catalogue/policies/<name>.yaml`, as text.
    static func policy(_ name: String) throws -> String {
        try String(decoding: Data(contentsOf: folder.appendingPathComponent("policies/\(name).yaml")), as: UTF8.self)
    }

    /// The rows of a tab-separated file of `catalogue`, without its header line.
    static func rows(_ file: String) throws -> [[String]] {
        let text = try String(decoding: Data(contentsOf: folder.appendingPathComponent(file)), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }
}
