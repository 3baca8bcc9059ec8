/// Spots patterns that are likely mistakes: repetitions that can split the same text in many
/// ways, such as `(a+)+`, `(a*)*` or `(a|a)*`. Warden matches them in linear time like any
/// other, but backtracking engines (JavaScript, PCRE, Python, Java) take exponential time on
/// them, and they rarely mean what their author intended.
enum RegexLint {
    /// A sentence describing the first such construct in `node`, or `nil`.
    static func warning(for node: RegexNode) -> String? {
        switch node {
        case .empty, .scalar, .set, .assertion:
            return nil
        case .concatenation(let items):
            return items.lazy.compactMap(warning(for:)).first
        case .alternation(let branches):
            return branches.lazy.compactMap(warning(for:)).first
        case .repetition(let inner, _, let maximum):
            if maximum.map({ $0 > 1 }) ?? true {
                if repeatsWithNothingElse(inner) {
                    return "it nests quantifiers (like (a+)+ or (a*)*)"
                }
                if hasOverlappingAlternatives(inner) {
                    return "it repeats alternatives that can match the same text (like (a|a)*)"
                }
            }
            return warning(for: inner)
        }
    }

    /// Whether `node` contains a repetition (of more than once) and nothing that must match
    /// text besides it, so an outer repetition can split the same text among its iterations
    /// in many ways.
    private static func repeatsWithNothingElse(_ node: RegexNode) -> Bool {
        switch node {
        case .repetition(let inner, let minimum, let maximum):
            // A repetition of a variable count of more than one (`a+`, `a*`, `a{1,3}`).
            let variable = maximum.map { $0 > 1 && $0 > minimum } ?? true
            return variable && !isEmptyOnly(inner) || repeatsWithNothingElse(inner)
        case .concatenation(let items):
            return items.indices.contains { index in
                repeatsWithNothingElse(items[index])
                    && items.indices.allSatisfy { $0 == index || isNullable(items[$0]) }
            }
        case .alternation(let branches):
            return branches.contains(where: repeatsWithNothingElse)
        case .empty, .scalar, .set, .assertion:
            return false
        }
    }

    /// Whether two alternatives of an alternation directly in `node` can start the same
    /// way while one of them is a single character (or both are the same).
    private static func hasOverlappingAlternatives(_ node: RegexNode) -> Bool {
        // Pairs are compared one by one: past a hundred alternatives the lint says nothing.
        guard case .alternation(let branches) = node, branches.count <= 100 else { return false }
        for i in branches.indices {
            for j in branches.indices where j > i {
                if branches[i] == branches[j] { return true }
                guard isSingleScalar(branches[i]) || isSingleScalar(branches[j]) else { continue }
                if let a = firstScalars(branches[i]), let b = firstScalars(branches[j]), a.mayOverlap(b) { return true }
            }
        }
        return false
    }

    private static func isSingleScalar(_ node: RegexNode) -> Bool {
        switch node {
        case .scalar, .set: true
        default: false
        }
    }

    private static func isEmptyOnly(_ node: RegexNode) -> Bool {
        switch node {
        case .empty, .assertion: true
        case .concatenation(let items): items.allSatisfy(isEmptyOnly)
        case .alternation(let branches): branches.allSatisfy(isEmptyOnly)
        case .repetition(let inner, _, let maximum): maximum == 0 || isEmptyOnly(inner)
        case .scalar, .set: false
        }
    }

    /// Whether `node` can match the empty string.
    static func isNullable(_ node: RegexNode) -> Bool {
        switch node {
        case .empty, .assertion: true
        case .scalar, .set: false
        case .concatenation(let items): items.allSatisfy(isNullable)
        case .alternation(let branches): branches.contains(where: isNullable)
        case .repetition(let inner, let minimum, _): minimum == 0 || isNullable(inner)
        }
    }

    /// The scalars a match of `node` can start with (`nil` if it can start with none).
    private static func firstScalars(_ node: RegexNode) -> ScalarSet? {
        var set = ScalarSet()
        var found = false
        func collect(_ node: RegexNode) {
            switch node {
            case .empty, .assertion:
                break
            case .scalar(let value):
                set.insert(value...value)
                found = true
            case .set(let inner):
                set.formUnion(inner)
                found = true
            case .concatenation(let items):
                for item in items {
                    collect(item)
                    if !isNullable(item) { break }
                }
            case .alternation(let branches):
                branches.forEach(collect)
            case .repetition(let inner, _, let maximum):
                if maximum != 0 { collect(inner) }
            }
        }
        collect(node)
        guard found else { return nil }
        set.seal()
        return set
    }
}
