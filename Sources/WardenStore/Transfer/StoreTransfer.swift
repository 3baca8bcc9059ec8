import Foundation

/// What ``StoreMigration`` carries from one store to another, verbatim: the rows of grants and
/// admin tokens with their token hashes (tokens keep working), approvals as they stand, and
/// audit entries with their sequence numbers and hashes (the chain still verifies).
///
/// Counters are not carried: their windows are minutes to days long and restart at zero.
public enum StoreTransfer {
    /// A grant as stored: the grant and its token's hash. Backends make them (the memberwise
    /// initializer is internal): only what a store exported can be imported.
    public struct GrantRow: Sendable, Equatable {
        public var grant: Grant
        /// The SHA-256 of the grant's token (``Secrets/hash(_:)``), never the token.
        public var tokenHash: String
    }

    /// An admin token as stored: the token and its secret's hash.
    public struct AdminTokenRow: Sendable, Equatable {
        public var token: AdminToken
        /// The SHA-256 of the token's secret, never the secret.
        public var tokenHash: String
    }

    /// Everything but the audit log, written in one step (``TransferableStore/importRecords(_:)``).
    public struct Records: Sendable, Equatable {
        public var grants: [GrantRow]
        public var adminTokens: [AdminTokenRow]
        public var approvals: [Approval]

        public init(grants: [GrantRow] = [], adminTokens: [AdminTokenRow] = [], approvals: [Approval] = []) {
            self.grants = grants
            self.adminTokens = adminTokens
            self.approvals = approvals
        }

        /// How many of each.
        public var contents: Contents {
            Contents(grants: grants.count, adminTokens: adminTokens.count, approvals: approvals.count, auditEntries: 0)
        }
    }

    /// How many rows of each kind a store holds, or a migration copied.
    public struct Contents: Sendable, Equatable {
        public var grants: Int
        public var adminTokens: Int
        public var approvals: Int
        public var auditEntries: Int

        public init(grants: Int = 0, adminTokens: Int = 0, approvals: Int = 0, auditEntries: Int = 0) {
            self.grants = grants
            self.adminTokens = adminTokens
            self.approvals = approvals
            self.auditEntries = auditEntries
        }

        /// Whether there is nothing at all.
        public var isEmpty: Bool { self == Contents() }

        /// The counts in words: `3 grants, 1 admin token, 0 approvals, 120 audit entries`.
        public var description: String {
            func count(_ number: Int, _ one: String, _ many: String) -> String { "\(number) \(number == 1 ? one : many)" }
            return [
                count(grants, "grant", "grants"), count(adminTokens, "admin token", "admin tokens"),
                count(approvals, "approval", "approvals"), count(auditEntries, "audit entry", "audit entries"),
            ].joined(separator: ", ")
        }
    }

    /// The text a store keeps for `date`, a time read back from such text: stores keep times to
    /// the millisecond, truncated (``AuditRecord/timeFormat``), and a time parsed from its text
    /// may fall a hair below its millisecond, which formatting would truncate to the one
    /// before. Half a millisecond added first writes the same text back.
    static func storedText(of date: Date) -> String {
        SQLiteGrantStore.format(date.addingTimeInterval(0.0005))
    }

    /// Checks that `rows` continue the chain whose head is `head`: consecutive sequence
    /// numbers from the one after it, each linked to the hash before it. Every backend checks
    /// this in the transaction that appends them, against the head it holds.
    /// - Throws: ``StoreError`` (`invalidRequest`) naming the first row that does not follow.
    public static func checkContinuity(of rows: [AuditLog.Row], after head: AuditLog.Head) throws(StoreError) {
        var previous = head
        for row in rows {
            guard row.sequence == previous.sequence + 1, row.previousHash == previous.hash else {
                throw StoreError(
                    .invalidRequest,
                    "audit entry \(row.sequence) does not follow entry \(previous.sequence) (hash \(previous.hash.prefix(12))…) of the destination")
            }
            previous = AuditLog.Head(sequence: row.sequence, hash: row.hash)
        }
    }
}
