import Testing
import WardenCatalogue
import WardenCatalogueData
import WardenJSON
import WardenPolicy

/// The catalogue built into the binary: big enough, well-formed, every starter policy valid, and
/// the same as the committed files it is generated from.
@Suite struct ShippedCatalogueTests {
    let catalogue: ShippedCatalogue

    init() throws {
        catalogue = try ShippedCatalogue(jsonLines: ShippedCatalogueData.jsonLines)
    }

    @Test func holdsAtLeastAHundredServersAndAThousandTools() {
        #expect(catalogue.entries.count >= 100, "\(catalogue.entries.count) servers")
        #expect(catalogue.toolCount >= 1_000, "\(catalogue.toolCount) tools")
    }

    @Test func embeddedCopyIsTheCommittedFiles() throws {
        let names = try CatalogueFiles.serverNames()
        #expect(catalogue.entries.map(\.name) == names, "run catalogue/build --embed")
        for entry in catalogue.entries where names.contains(entry.name) {
            #expect(entry.report == (try CatalogueFiles.report(entry.name)), "\(entry.name): servers/\(entry.name).json differs; run catalogue/build --embed")
            #expect(entry.policy == (try CatalogueFiles.policy(entry.name)), "\(entry.name): policies/\(entry.name).yaml differs; run catalogue/build --embed")
        }
    }

    @Test func everyToolHasAClassARiskARationaleAndAHash() {
        for entry in catalogue.entries {
            #expect(!entry.tools.isEmpty, "\(entry.name) has no tools")
            #expect(Set(entry.tools.map(\.name)).count == entry.tools.count, "\(entry.name) lists a tool twice")
            for tool in entry.tools {
                let where_ = "\(entry.name)/\(tool.name)"
                #expect(CatalogueTool.classes.contains(tool.toolClass), "\(where_): class \(tool.toolClass)")
                #expect(CatalogueTool.risks.contains(tool.risk), "\(where_): risk \(tool.risk)")
                #expect(!tool.rationale.isEmpty, "\(where_): no rationale")
                #expect(tool.sha256?.count == 64, "\(where_): no SHA-256 of its definition")
            }
        }
    }

    /// What `warden policy check` does for each file: load it and report its problems.
    @Test func everyStarterPolicyPassesPolicyCheck() throws {
        for entry in catalogue.entries {
            let policy: Policy
            do {
                policy = try PolicyLoader.load(yaml: entry.policy, file: "catalogue/policies/\(entry.name).yaml")
            } catch {
                Issue.record("catalogue/policies/\(entry.name).yaml: \(error.problems.map(\.description).joined(separator: "; "))")
                continue
            }
            let hidden = Set(policy.hide.names.map(\.value))
            for tool in entry.tools {
                #expect(policy.toolNames.contains(tool.name) || hidden.contains(tool.name), "\(entry.name): the policy neither rules nor hides \(tool.name)")
            }
        }
    }

    /// What `warden policy test` does for each file: every starter policy passes its own cases.
    @Test func everyStarterPolicyPassesItsOwnTests() async throws {
        for entry in catalogue.entries {
            guard let policy = try? PolicyLoader.load(yaml: entry.policy, file: "catalogue/policies/\(entry.name).yaml") else { continue }
            #expect(!policy.tests.isEmpty, "\(entry.name): the starter policy carries no tests")
            for result in await PolicyTestRunner.run(policy.tests, against: policy) where !result.passed {
                Issue.record("catalogue/policies/\(entry.name).yaml: \(result.testCase.name): \(result.failure ?? "")")
            }
        }
    }

    /// Each stored definition is the one the scan fingerprinted: its parts hash to its `sha256`
    /// (so a lock file and the catalogue agree on what a tool is).
    @Test func everyStoredDefinitionHashesToItsSHA256() throws {
        for entry in catalogue.entries {
            for tool in entry.tools {
                var stored = tool.report
                stored.members.removeAll { $0.value == .null }
                let definition = try #require(ToolDefinition(listEntry: .object(stored)))
                #expect(definition.fingerprint == tool.sha256, "\(entry.name)/\(tool.name): its stored definition does not hash to its sha256")
            }
        }
    }

    @Test func searchFindsServersByNameAndToolsByNameClassOrDescription() throws {
        let byServer = CatalogueSearch.search("mcp-server-git", in: catalogue)
        #expect(byServer.first?.entry.name == "mcp-server-git")
        let byTool = CatalogueSearch.search("git_status", in: catalogue)
        #expect(byTool.contains { $0.entry.name == "mcp-server-git" && $0.tools.map(\.name) == ["git_status"] })
        let byClass = CatalogueSearch.search("destructive", in: catalogue)
        #expect(byClass.flatMap(\.tools).contains { $0.toolClass == "destructive" })
        #expect(CatalogueSearch.search("no-such-word-anywhere-42", in: catalogue).isEmpty)
    }

    @Test func suggestsTheClosestServerNames() {
        #expect(catalogue.suggestions(for: "mcp-server-gti").first == "mcp-server-git")
        #expect(catalogue.suggestions(for: "time").contains("mcp-server-time"))
        #expect(catalogue.entry(named: "MCP-Server-Git")?.name == "mcp-server-git")
    }
}
