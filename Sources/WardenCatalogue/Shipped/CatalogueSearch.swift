import WardenPolicy

/// One search hit: a server, and which of its tools matched (none when only the server's own
/// name did).
public struct CatalogueMatch: Sendable {
    public var entry: CatalogueEntry
    public var tools: [CatalogueTool]
}

/// Searching the catalogue by a word.
public enum CatalogueSearch {
    /// The servers whose name matches `word`, or with a tool whose name, class or description
    /// does (case-insensitive substring), each with its matching tools; servers whose own name
    /// matches come first.
    public static func search(_ word: String, in catalogue: ShippedCatalogue) -> [CatalogueMatch] {
        let wanted = word.lowercased()
        var byName: [CatalogueMatch] = []
        var byTool: [CatalogueMatch] = []
        for entry in catalogue.entries {
            let tools = entry.tools.filter { tool in
                tool.name.lowercased().contains(wanted) || tool.toolClass == wanted
                    || (tool.description?.lowercased().contains(wanted) ?? false)
            }
            if entry.name.lowercased().contains(wanted) {
                byName.append(CatalogueMatch(entry: entry, tools: tools))
            } else if !tools.isEmpty {
                byTool.append(CatalogueMatch(entry: entry, tools: tools))
            }
        }
        return byName + byTool
    }
}
