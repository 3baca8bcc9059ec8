/// Why a store refused or could not do an operation. Its description names ids, never
/// tokens, secrets or argument values, so it is safe for logs and for callers.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of refusal or failure it is.
    public enum Code: String, Sendable {
        /// No grant, approval or admin token (or no active one) has the id given.
        case notFound
        /// The approval was decided, expired or closed already.
        case alreadyClosed
        /// The approver is not among those the policy names.
        case notAnApprover
        /// The request itself is incomplete (a grant without a label, ...).
        case invalidRequest
        /// The store cannot be reached or refused to work.
        case unavailable
    }

    /// What kind it is.
    public var code: Code
    /// What happened, in words.
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
