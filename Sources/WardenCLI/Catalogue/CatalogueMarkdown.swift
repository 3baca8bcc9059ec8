import Foundation

/// Markdown tables for `warden catalogue`.
enum CatalogueMarkdown {
    /// A GitHub-flavoured Markdown table; `|` and line breaks in cells are escaped.
    static func table(header: [String], rows: [[String]]) -> String {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }.joined(separator: " | ") + " |"
        }
        return ([line(header), line(header.map { _ in "---" })] + rows.map(line)).joined(separator: "\n")
    }
}
