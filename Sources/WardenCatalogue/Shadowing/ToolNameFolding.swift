import Foundation

/// Folds a tool name to what a reader (or a lenient server) would take it for: compatibility
/// forms decomposed (NFKC: fullwidth letters, ligatures), lower case, look-alike letters of
/// other scripts mapped to their Latin twins, and separators (`_`, `-`, `.`, spaces) dropped.
/// Two names that fold alike read alike.
public enum ToolNameFolding {
    /// The folded form of `name`.
    public static func fold(_ name: String) -> String {
        var folded = ""
        for scalar in name.precomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
            if separators.contains(scalar) || scalar.properties.isWhitespace { continue }
            if let twin = confusables[scalar] {
                folded.unicodeScalars.append(twin)
            } else {
                folded.unicodeScalars.append(scalar)
            }
        }
        return folded
    }

    private static let separators: Set<Unicode.Scalar> = ["_", "-", ".", "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}"]

    /// Lower-case Cyrillic and Greek letters that look like Latin ones (after lowercasing).
    private static let confusables: [Unicode.Scalar: Unicode.Scalar] = [
        // Cyrillic
        "\u{0430}": "a", "\u{0435}": "e", "\u{043E}": "o", "\u{0440}": "p", "\u{0441}": "c", "\u{0443}": "y",
        "\u{0445}": "x", "\u{0456}": "i", "\u{0458}": "j", "\u{0455}": "s", "\u{04CF}": "l", "\u{0501}": "d",
        "\u{051B}": "q", "\u{051D}": "w", "\u{0432}": "b", "\u{043A}": "k", "\u{043C}": "m", "\u{043D}": "h", "\u{0442}": "t",
        // Greek
        "\u{03BF}": "o", "\u{03B1}": "a", "\u{03B5}": "e", "\u{03C1}": "p", "\u{03B9}": "i", "\u{03BA}": "k",
        "\u{03BD}": "v", "\u{03C4}": "t", "\u{03C5}": "u", "\u{03C7}": "x",
        // Latin look-alikes
        "\u{0131}": "i", "\u{0269}": "i", "\u{0261}": "g",
    ]
}
