/// Characters a person does not see but a model reads: Unicode tag characters (which spell
/// out whole hidden instructions), bidirectional controls (which reorder what is shown),
/// zero-width characters, variation selectors beyond the emoji ones, and terminal escapes.
enum InvisibleCharacterCheck {
    enum Kind: String, CaseIterable {
        case tag = "tag characters (U+E0000–U+E007F)"
        case bidirectional = "bidirectional controls"
        case zeroWidth = "zero-width characters"
        case joiner = "zero-width joiners"
        case variationSelector = "supplementary variation selectors"
        case escape = "terminal escape characters"

        var severity: Severity {
            switch self {
            case .tag: .critical
            case .bidirectional, .variationSelector, .escape: .high
            case .zeroWidth: .medium
            case .joiner: .low
            }
        }
    }

    static func kind(of scalar: Unicode.Scalar) -> Kind? {
        switch scalar.value {
        case 0xE0000...0xE007F: .tag
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: .bidirectional
        case 0x200B, 0x2060...0x2064, 0xFEFF, 0x180E, 0x00AD: .zeroWidth
        case 0x200C, 0x200D: .joiner
        case 0xE0100...0xE01EF: .variationSelector
        case 0x1B, 0x9B: .escape
        default: nil
        }
    }

    static func check(_ text: String, location: String) -> [Finding] {
        var counts: [Kind: Int] = [:]
        var firstAt: [Kind: String.UnicodeScalarView.Index] = [:]
        var decoded = ""
        let scalars = text.unicodeScalars
        for index in scalars.indices {
            guard let kind = kind(of: scalars[index]) else { continue }
            counts[kind, default: 0] += 1
            if firstAt[kind] == nil { firstAt[kind] = index }
            if kind == .tag, (0xE0020...0xE007E).contains(scalars[index].value), let ascii = Unicode.Scalar(scalars[index].value - 0xE0000) {
                decoded.unicodeScalars.append(ascii)
            }
        }
        // A lone joiner between emoji or in a script that needs it is ordinary.
        if let joiners = counts[.joiner], joiners < 3, counts.count == 1 { return [] }
        return Kind.allCases.compactMap { kind in
            guard let count = counts[kind], let index = firstAt[kind] else { return nil }
            let start = scalars.index(index, offsetBy: -min(20, scalars.distance(from: scalars.startIndex, to: index)))
            var matched = PoisoningChecks.visible(Substring(scalars[start...]), limit: 120)
            var message = "\(count) invisible \(kind.rawValue): text a person does not see, but a model reads."
            if kind == .tag, !decoded.isEmpty {
                matched += " — decoded: \"\(PoisoningChecks.visible(decoded, limit: 200))\""
                message = "\(count) invisible tag characters spelling out hidden text, which a model reads and a person does not see."
            }
            return Finding(check: "invisible-unicode", severity: kind.severity, message: message, matched: matched, location: location)
        }
    }
}
