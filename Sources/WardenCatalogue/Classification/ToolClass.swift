/// What a tool does, as far as its definition tells: the class a scan gives it.
public enum ToolClass: String, Sendable, CaseIterable, Codable {
    /// Reads or computes without changing anything (`get_`, `list_`, `search`).
    case read
    /// Changes state in a way that can be undone or repeated (`create_`, `update_`, `send_`).
    case write
    /// Runs code or commands the caller supplies (`run_command`, `execute_sql`).
    case execute
    /// Destroys data or state (`delete_`, `drop_`, `git_reset`, a force push).
    case destructive
    /// Moves money (`create_payment`, `refund`, a field `amount` in a write).
    case financial
    /// Nothing in the definition says.
    case other

    /// How much harm the class can do, for picking the strongest of several signals:
    /// read < other < write < execute < destructive = financial (ties keep the first found).
    var weight: Int {
        switch self {
        case .read: 0
        case .other: 1
        case .write: 2
        case .execute: 3
        case .destructive, .financial: 4
        }
    }

    /// The risk a tool of this class has before anything raises it: read low, write and other
    /// medium, execute high, destructive and financial critical.
    public var defaultRisk: Risk {
        switch self {
        case .read: .low
        case .write, .other: .medium
        case .execute: .high
        case .destructive, .financial: .critical
        }
    }
}

/// How much harm a call of a tool could do.
public enum Risk: String, Sendable, CaseIterable, Codable, Comparable {
    case low, medium, high, critical

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: Risk, rhs: Risk) -> Bool { lhs.rank < rhs.rank }

    /// One level up, at most `high` (raising never makes a risk critical on its own).
    var raised: Risk { self < .high ? Self.allCases[rank + 1] : self }
}
