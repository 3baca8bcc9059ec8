import Testing
import WardenCatalogue
import WardenCatalogueData
import WardenJSON

/// How often the classifier agrees with a person: `catalogue/labels.tsv` holds tools of the
/// catalogue labelled by hand (from their name, description and schema); each is classified
/// again from its stored definition and compared. The figure and the confusion are printed and
/// quoted in docs/catalogue.md; the test fails if agreement falls under the floor.
@Suite struct LabelAgreementTests {
    /// The lowest agreement accepted: the figure measured when the labels were made, less a margin.
    static let floor = 0.70

    @Test func classifierAgreesWithTheHandLabels() throws {
        let catalogue = try ShippedCatalogue(jsonLines: ShippedCatalogueData.jsonLines)
        let labels = try CatalogueFiles.rows("labels.tsv")
        try #require(labels.count >= 100, "label at least 100 tools")
        var confusion: [String: [String: Int]] = [:]
        var misses: [String] = []
        var agreed = 0
        for row in labels {
            try #require(row.count >= 3, "labels.tsv: a row needs server, tool and class: \(row)")
            let (server, name, label) = (row[0], row[1], row[2])
            #expect(CatalogueTool.classes.contains(label), "labels.tsv: \(server)/\(name): unknown class \(label)")
            guard let tool = catalogue.entry(named: server)?.tools.first(where: { $0.name == name }) else {
                Issue.record("labels.tsv: \(server)/\(name) is not in the catalogue")
                continue
            }
            var stored = tool.report
            stored.members.removeAll { $0.value == .null }
            let definition = try #require(ToolDefinition(listEntry: .object(stored)))
            let predicted = Classifier.classify(definition).toolClass.rawValue
            confusion[label, default: [:]][predicted, default: 0] += 1
            if predicted == label {
                agreed += 1
            } else {
                misses.append("\(server)/\(name): labelled \(label), classified \(predicted)")
            }
        }
        let agreement = Double(agreed) / Double(labels.count)
        print("catalogue label agreement: \(agreed)/\(labels.count) = \(Int((agreement * 1000).rounded()) / 10)%")
        print("confusion (rows: label, columns: classifier): " + CatalogueTool.classes.joined(separator: " "))
        for label in CatalogueTool.classes {
            print("  \(label): " + CatalogueTool.classes.map { String(confusion[label]?[$0] ?? 0) }.joined(separator: " "))
        }
        misses.forEach { print("  miss: \($0)") }
        #expect(agreement >= Self.floor, "agreement \(agreement) is under the floor \(Self.floor)")
    }
}
