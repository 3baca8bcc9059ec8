public import Foundation
public import WardenJSON

/// One audited decision. Argument values are never stored: only their sorted keys and a
/// hash of their canonical form.
public struct AuditRecord: Sendable, Equatable {
    /// When the decision was made.
    public var time: Date
    /// The JSON-RPC id of the request, as JSON text.
    public var requestID: String?
    /// The caller's identity name.
    public var identity: String
    /// The caller's grant, if any.
    public var grant: String?
    /// The session id.
    public var session: String?
    /// The server name.
    public var server: String?
    /// The JSON-RPC method, e.g. `tools/call`.
    public var method: String
    /// The tool called, if any.
    public var tool: String?
    /// `allow`, `deny`, `hidden`, `approval_required` (the call is held), `approved`,
    /// `approval_denied`, `approval_expired`, `approval_cancelled`, `shadow_deny`,
    /// `shadow_hidden`, `shadow_approval_required`, or `invalid` for a request refused
    /// before the policy.
    public var decision: String
    /// The rule that decided (a JSON Pointer or `(default deny)`...).
    public var rule: String?
    /// The message given to the agent.
    public var message: String?
    /// The argument keys, sorted.
    public var argumentKeys: [String]
    /// SHA-256 of the canonical arguments (keys sorted, compact), hex.
    public var argumentsHash: String?
    /// The argument values, only when the gateway is configured to keep them (redacted as
    /// configured).
    public var arguments: JSONValue?
    /// What the server answered: `ok`, `tool_error` (a result with isError), `error <code>`,
    /// `no response`; `nil` when the call was not forwarded.
    public var upstreamStatus: String?
    /// Time from forwarding to the server's answer, in milliseconds.
    public var latencyMilliseconds: Double?
    /// SHA-256 of the policy document in force, hex.
    public var policyHash: String?
    /// The id of the HTTP request that carried the call (`warden serve`), as in Warden's logs.
    public var httpRequestID: String?
    /// The approval a held call waited for, e.g. `a_4f2k9q7m`.
    public var approval: String?
    /// The id of the ``CallIntent`` this record finishes: the log deletes it when it appends
    /// the record. Not part of the record (neither stored nor hashed).
    public var intent: String?
    /// The record's text as drafted before its call's outcome, kept to write it from
    /// (``keepDraftText()``); `nil` until then. Never part of the text, nor of equality.
    public var draftText: DraftText? { keptDraft.text }
    var keptDraft = KeptDraft()

    public init(
        time: Date,
        requestID: String? = nil,
        identity: String,
        grant: String? = nil,
        session: String? = nil,
        server: String? = nil,
        method: String,
        tool: String? = nil,
        decision: String,
        rule: String? = nil,
        message: String? = nil,
        argumentKeys: [String] = [],
        argumentsHash: String? = nil,
        upstreamStatus: String? = nil,
        latencyMilliseconds: Double? = nil,
        policyHash: String? = nil,
        httpRequestID: String? = nil,
        approval: String? = nil,
        arguments: JSONValue? = nil
    ) {
        self.time = time
        self.requestID = requestID
        self.identity = identity
        self.grant = grant
        self.session = session
        self.server = server
        self.method = method
        self.tool = tool
        self.decision = decision
        self.rule = rule
        self.message = message
        self.argumentKeys = argumentKeys
        self.argumentsHash = argumentsHash
        self.upstreamStatus = upstreamStatus
        self.latencyMilliseconds = latencyMilliseconds
        self.policyHash = policyHash
        self.httpRequestID = httpRequestID
        self.approval = approval
        self.arguments = arguments
    }

    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// The record as a JSON object with keys in a fixed order (``writeFields(time:to:)``);
    /// absent fields are left out.
    public var json: JSONValue {
        var collector = MemberCollector()
        writeFields(time: Timestamp.text(of: time), to: &collector)
        return .object(JSONObject(collector.members))
    }

    /// Reads a record written by ``json``. Its time is the one written, to the millisecond: the
    /// nearest double to a millisecond is often a hair below it, so half a millisecond is added
    /// for the time to be written back (truncated) as it was.
    public init?(json value: JSONValue) {
        guard case .string(let timeText)? = value["time"], let time = try? Date(timeText, strategy: Self.timeFormat),
            case .string(let identity)? = value["identity"], case .string(let method)? = value["method"],
            case .string(let decision)? = value["decision"]
        else { return nil }
        self.init(
            time: time.addingTimeInterval(0.0005),
            requestID: value["request_id"]?.stringValue,
            identity: identity,
            grant: value["grant"]?.stringValue,
            session: value["session"]?.stringValue,
            server: value["server"]?.stringValue,
            method: method,
            tool: value["tool"]?.stringValue,
            decision: decision,
            rule: value["rule"]?.stringValue,
            message: value["message"]?.stringValue,
            argumentKeys: value["argument_keys"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            argumentsHash: value["arguments_hash"]?.stringValue,
            upstreamStatus: value["upstream_status"]?.stringValue,
            latencyMilliseconds: value["latency_ms"]?.numberValue?.doubleValue,
            policyHash: value["policy_hash"]?.stringValue,
            httpRequestID: value["http_request_id"]?.stringValue,
            approval: value["approval"]?.stringValue,
            arguments: value["arguments"]
        )
    }
}
