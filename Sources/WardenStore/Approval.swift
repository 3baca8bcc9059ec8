public import Foundation
public import WardenJSON

/// A call held for a person's decision (`require_approval`), as stored.
public struct Approval: Sendable, Equatable {
    /// Where an approval stands. Only `pending` changes, and only once.
    public enum Status: String, Sendable, CaseIterable {
        /// Waiting for a decision; the call is held.
        case pending
        /// Approved: the call was forwarded.
        case approved
        /// Refused by an approver.
        case denied
        /// Nobody decided before the timeout.
        case expired
        /// Closed without a decision: the client gave up, or the gateway holding it stopped.
        case cancelled
    }

    /// The public id, e.g. `a_4f2k9q7m`.
    public var id: String
    /// The server and tool called.
    public var server: String
    public var tool: String
    /// Who called.
    public var identity: String
    /// The caller's grant, if any.
    public var grant: String?
    /// The MCP session of the call.
    public var session: String
    /// The JSON-RPC id of the call, as JSON text.
    public var requestID: String
    /// The call's arguments as JSON text, with the values the policy redacts replaced.
    public var arguments: String
    /// The rule that asked for approval (a JSON Pointer) and its message.
    public var rule: String
    public var message: String
    /// Who may decide (identity names; empty: any approver). `user` is the caller, asked by elicitation.
    public var approvers: [String]
    /// The gateway process holding the call, `pid@host`.
    public var holder: String
    public var createdAt: Date
    public var expiresAt: Date
    public var status: Status
    /// Who decided, why, and when (absent while pending).
    public var decidedBy: String?
    public var reason: String?
    public var decidedAt: Date?
    /// The id of the admin token that decided, when one did (the admin API, the dashboard).
    public var decidedByToken: String?

    public init(
        id: String, server: String, tool: String, identity: String, grant: String?, session: String,
        requestID: String, arguments: String, rule: String, message: String, approvers: [String], holder: String,
        createdAt: Date, expiresAt: Date, status: Status = .pending, decidedBy: String? = nil, reason: String? = nil,
        decidedAt: Date? = nil, decidedByToken: String? = nil
    ) {
        self.id = id
        self.server = server
        self.tool = tool
        self.identity = identity
        self.decidedByToken = decidedByToken
        self.grant = grant
        self.session = session
        self.requestID = requestID
        self.arguments = arguments
        self.rule = rule
        self.message = message
        self.approvers = approvers
        self.holder = holder
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.status = status
        self.decidedBy = decidedBy
        self.reason = reason
        self.decidedAt = decidedAt
    }

    /// Whether `name` may decide this approval: anyone (but the caller) when the policy names
    /// no approvers, else only those it names (``callerApprover`` for the caller).
    public func mayBeDecided(by name: String) -> Bool {
        approvers.isEmpty ? name != Self.callerApprover : approvers.contains(name)
    }

    /// The approver name that means "the caller, asked through elicitation".
    public static let callerApprover = "user"

    /// What a decision by `approver` at `now` meets.
    public enum DecisionCheck: Sendable {
        /// The approval is pending and `approver` may decide it.
        case open
        /// The approval is pending past its expiry: the store closes it as expired and refuses.
        case expired(StoreError)
        /// The decision is refused.
        case refused(StoreError)
    }

    /// Whether `approver` may decide this approval at `now`, as every store checks it.
    public func check(decisionBy approver: String, at now: Date) -> DecisionCheck {
        guard status == .pending else {
            let by = decidedBy.map { " by \($0)" } ?? ""
            return .refused(StoreError(.alreadyClosed, "approval \(id) is already \(status.rawValue)\(by)"))
        }
        guard now <= expiresAt else { return .expired(StoreError(.alreadyClosed, "approval \(id) has expired")) }
        guard mayBeDecided(by: approver) else {
            return .refused(
                StoreError(.notAnApprover, "\(approver) may not decide \(id): the policy names \(approvers.joined(separator: ", "))"))
        }
        return .open
    }

    /// How a pending approval nobody will close is closed (see ``ApprovalStore/closeAbandoned(now:isAlive:)``):
    /// cancelled when its holder is gone, expired a minute past its expiry; `nil` while it may
    /// still be decided.
    public func abandonment(now: Date, isAlive: (String) -> Bool) -> (status: Status, reason: String)? {
        if !isAlive(holder) { return (.cancelled, "the gateway holding the call stopped") }
        if now.timeIntervalSince(expiresAt) > 60 {
            return (.expired, "nobody decided in time, and the gateway holding the call did not close it")
        }
        return nil
    }

    /// This process as a holder: `pid@host`.
    public static let currentHolder = "\(getpid())@\(ProcessInfo.processInfo.hostName)"

    /// Whether the holder `pid@host` is running: always assumed for other hosts.
    public static func isHolderAlive(_ holder: String) -> Bool {
        let parts = holder.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let pid = Int32(parts[0]) else { return false }
        guard parts[1] == ProcessInfo.processInfo.hostName else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

extension Approval {
    /// The approval as a JSON object (the admin API's and `warden approvals --format json`'s form).
    public var json: JSONValue {
        var members: [JSONObject.Member] = []
        func add(_ key: String, _ value: JSONValue?) {
            if let value { members.append(.init(key: key, value: value)) }
        }
        add("id", .string(id))
        add("status", .string(status.rawValue))
        add("server", .string(server))
        add("tool", .string(tool))
        add("identity", .string(identity))
        add("grant", grant.map(JSONValue.string))
        add("session", .string(session))
        add("request_id", .string(requestID))
        add("arguments", (try? JSONReader.parse(arguments)) ?? .string(arguments))
        add("rule", .string(rule))
        add("message", .string(message))
        add("approvers", .array(approvers.map(JSONValue.string)))
        add("holder", .string(holder))
        add("created_at", .string(createdAt.formatted(AuditRecord.timeFormat)))
        add("expires_at", .string(expiresAt.formatted(AuditRecord.timeFormat)))
        add("decided_by", decidedBy.map(JSONValue.string))
        add("reason", reason.map(JSONValue.string))
        add("decided_at", decidedAt.map { .string($0.formatted(AuditRecord.timeFormat)) })
        add("decided_by_token", decidedByToken.map(JSONValue.string))
        return .object(JSONObject(members))
    }

    /// Reads an approval written by ``json``.
    public init?(json value: JSONValue) {
        func text(_ key: String) -> String? { value[key]?.stringValue }
        func date(_ key: String) -> Date? { text(key).flatMap { try? Date($0, strategy: AuditRecord.timeFormat) } }
        guard let id = text("id"), let status = text("status").flatMap(Status.init(rawValue:)), let server = text("server"),
            let tool = text("tool"), let identity = text("identity"), let created = date("created_at"),
            let expires = date("expires_at")
        else { return nil }
        self.init(
            id: id, server: server, tool: tool, identity: identity, grant: text("grant"), session: text("session") ?? "",
            requestID: text("request_id") ?? "", arguments: value["arguments"].map { JSONWriter.write($0) } ?? "{}",
            rule: text("rule") ?? "", message: text("message") ?? "",
            approvers: value["approvers"]?.arrayValue?.compactMap(\.stringValue) ?? [], holder: text("holder") ?? "",
            createdAt: created, expiresAt: expires, status: status, decidedBy: text("decided_by"), reason: text("reason"),
            decidedAt: date("decided_at"), decidedByToken: text("decided_by_token"))
    }
}
