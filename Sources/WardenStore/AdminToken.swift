public import Foundation

/// A token of the admin API and dashboard, with the role that bounds what it may do.
public struct AdminToken: Sendable, Equatable {
    /// What an admin token may do; each role may do everything the ones before it may.
    public enum Role: String, Sendable, CaseIterable, Comparable {
        /// Read approvals, the audit log, grants and servers.
        case viewer
        /// Also approve and deny held calls.
        case approver
        /// Also manage grants and reload policies.
        case admin

        public static func < (lhs: Role, rhs: Role) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// The public id, e.g. `t_4f2k9q7m`.
    public var id: String
    /// Who holds it: the approver name recorded on their decisions.
    public var name: String
    public var role: Role
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, name: String, role: Role, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// How every admin token's secret begins.
    public static let tokenPrefix = "wda_"

    /// A new token for `name` with `role`, with a fresh id, and its secret, for a store to keep.
    /// - Throws: ``StoreError`` (`invalidRequest`) without a name.
    public static func issue(name: String, role: Role, now: Date) throws(StoreError) -> (token: AdminToken, secret: String) {
        guard !name.isEmpty else { throw StoreError(.invalidRequest, "an admin token needs a name") }
        return (AdminToken(id: Secrets.newID(prefix: "t_"), name: name, role: role, createdAt: now), Secrets.newSecret(prefix: tokenPrefix))
    }
}
