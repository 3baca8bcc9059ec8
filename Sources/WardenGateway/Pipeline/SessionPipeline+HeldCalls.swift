import Foundation
public import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
public import WardenStore

/// How a gateway holds calls that need a person's approval: where they are stored, who is
/// told, and how often the held call looks for a decision.
public struct ApprovalDesk: Sendable {
    /// Where pending approvals are kept and decided (by the CLI, the admin API, the dashboard).
    public var store: any ApprovalStore
    /// Told of each new approval (the webhook of `warden serve`).
    public var announce: @Sendable (Approval) -> Void
    /// How often a held call looks for a decision when the store does not announce changes
    /// (SQLite). The default is 200 ms.
    public var pollInterval: Duration
    /// How often a held call looks for a decision anyway when the store announces changes
    /// (PostgreSQL's LISTEN/NOTIFY wakes it at once): a safety net for a lost announcement.
    /// The default is 5 seconds.
    public var announcedPollInterval: Duration
    /// How often a held call with a `progressToken` sends a progress notification.
    public var progressInterval: Duration
    /// Why an approved call must not run after all, checked just before it is forwarded (its
    /// grant was revoked or its token rotated, the admin token that approved it was revoked);
    /// `nil` when it may run.
    public var revocation: @Sendable (Approval) async -> String?
    /// The clock held calls wait by: their deadlines, progress and polling. The default is
    /// `ContinuousClock()`; a test passes one it moves itself.
    public var clock: any Clock<Duration>
    /// Wakes held calls when the store announces their approval changed.
    let announcements: ApprovalAnnouncements

    public init(
        store: any ApprovalStore,
        announce: @escaping @Sendable (Approval) -> Void = { _ in },
        pollInterval: Duration = .milliseconds(200),
        announcedPollInterval: Duration = .seconds(5),
        progressInterval: Duration = .seconds(5),
        revocation: @escaping @Sendable (Approval) async -> String? = { _ in nil },
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.store = store
        self.announce = announce
        self.announcements = ApprovalAnnouncements(store: store)
        self.pollInterval = pollInterval
        self.announcedPollInterval = announcedPollInterval
        self.progressInterval = progressInterval
        self.revocation = revocation
        self.clock = clock
    }

    /// Closes the approvals left pending by gateways on this host that stopped without
    /// closing them (killed, crashed), and logs how many.
    public func closeAbandoned(logger: Logger) async {
        do {
            let closed = try await store.closeAbandoned()
            if closed > 0 { logger.info("closed approvals left pending by stopped gateways", metadata: ["count": "\(closed)"]) }
        } catch {
            logger.warning("could not close abandoned approvals", metadata: ["error": "\(error)"])
        }
    }
}

/// A `tools/call` the policy holds for approval, as decided on the reading thread.
struct HeldCall: Sendable {
    var id: JSONValue
    var call: ToolCall
    var decision: Decision
    var record: AuditRecord
    /// The client's `_meta.progressToken`, if it sent one.
    var progressToken: JSONValue?
    /// Which hold of a call with this id this is (set by ``SessionPipeline/hold(_:message:server:)``).
    var serial = 0

    var rule: ApprovalRule { decision.approval ?? ApprovalRule(pointer: .root) }
}

extension SessionPipeline {
    /// Holds `held` until it is approved (then `message` goes to the server), denied, expired
    /// or cancelled (then the client gets a denial). Nothing is forwarded before approval.
    func hold(_ held: HeldCall, message: [UInt8], server: any Upstream) {
        let key = RequestKey(held.id)
        client.holding(held.id, for: .seconds(held.rule.timeoutSeconds))
        state.withLock { state in
            state.lastHeldSerial += 1
            var held = held
            held.serial = state.lastHeldSerial
            state.heldCalls[key] = SessionState.HeldCallEntry(
                task: Task { await self.waitForApproval(held, message: message, server: server) }, serial: held.serial)
        }
    }

    /// Cancels every held call: each approval is closed as cancelled and its client told
    /// `reason`. Returns once all are closed.
    func cancelHeldCalls(because reason: String) async {
        let tasks = state.withLock { state in
            state.heldCalls.values.map { entry in
                entry.cancelReason.withLock { $0 = $0 ?? reason }
                return entry.task
            }
        }
        for task in tasks {
            task.cancel()
            await task.value
        }
    }

    /// The client cancelled request `key` (`notifications/cancelled`): a held call stops
    /// waiting. `false` if no call with that id is held.
    func cancelHeldCall(_ key: RequestKey) -> Bool {
        let entry = state.withLock { $0.heldCalls[key] }
        guard let entry else { return false }
        entry.cancelReason.withLock { $0 = $0 ?? "the client cancelled the call" }
        entry.clientGaveUp.withLock { $0 = true }
        entry.task.cancel()
        return true
    }

    private func waitForApproval(_ held: HeldCall, message: [UInt8], server: any Upstream) async {
        let key = RequestKey(held.id)
        defer { state.withLock { $0.release(heldCall: key, serial: held.serial) } }
        guard let desk = configuration.approvals else { return }
        let rule = held.rule
        if rule.approvers == [Approval.callerApprover] && !configuration.callerAskedByTransport && !state.withLock(\.clientElicits) {
            await refuseHeld(
                held, decision: "deny", approval: nil,
                message: "\(held.decision.message); only the caller may approve it, and this client cannot be asked (it did not declare the elicitation capability)")
            return
        }
        // Dated when the call was decided, with the grant it was decided under: a grant
        // revoked or rotated since then cancels the approval (see `ApprovalStore/create(_:)`).
        let now = held.record.time
        let pending = Approval(
            id: "", server: configuration.serverName, tool: held.call.tool, identity: held.call.identity.name,
            grant: held.record.grant, session: configuration.session, requestID: key.text,
            arguments: JSONWriter.write(.object(rule.redact.applied(to: held.call.arguments))), rule: held.decision.rule.description,
            message: held.decision.message, approvers: rule.approvers, holder: Approval.currentHolder,
            createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(rule.timeoutSeconds)))
        let approval: Approval
        do {
            // In a task of its own: a client's early cancellation must not cancel the write.
            approval = try await Task { try await desk.store.create(pending) }.value
        } catch {
            logger.error("could not store an approval; call refused (fail closed)", metadata: ["error": "\(error)"])
            metrics?.storeFailed()
            await refuseHeld(
                held, decision: "deny", approval: nil,
                message: StoreUnavailable.reason(couldNot: "store the approval request"),
                answer: !clientGaveUp(key))
            return
        }
        var record = held.record
        record.approval = approval.id
        record.message = "\(held.decision.message); held for approval \(approval.id)"
        log(record)
        logger.notice(
            "call held for approval",
            metadata: ["approval": "\(approval.id)", "tool": "\(held.call.tool)", "identity": "\(held.call.identity.name)"])
        desk.announce(approval)
        client.awaitingDecision(held.id, approval: approval)
        let asking = askCallerIfNamed(approval, held: held)
        let listener = desk.announcements.listen(for: approval.id)
        let outcome = await watch(approval, held: held, desk: desk, listener: listener, clock: desk.clock)
        listener?.stop()
        asking?.cancel()
        await Task { await self.settle(held, outcome: outcome, message: message, server: server) }.value
    }

    /// Waits for `approval` to be decided, sending progress notifications if the client asked
    /// for them; closes it as expired at its deadline, or as cancelled if the wait is cancelled.
    /// It reads the approval when `listener` hears it changed, and every poll interval (the
    /// longer `announcedPollInterval` while the store announces changes).
    private func watch<C: Clock<Duration>>(
        _ approval: Approval, held: HeldCall, desk: ApprovalDesk, listener: ApprovalAnnouncements.Listener?, clock: C
    ) async -> Approval {
        let deadline = clock.now.advanced(by: .seconds(held.rule.timeoutSeconds))
        var nextProgress = clock.now
        var progress = 0
        while true {
            if Task.isCancelled || clock.now >= deadline {
                let cancelReason = state.withLock { $0.heldCalls[RequestKey(held.id)]?.cancelReason.withLock { $0 } }
                let status: Approval.Status = Task.isCancelled ? .cancelled : .expired
                let reason = Task.isCancelled ? (cancelReason ?? "the call was cancelled") : "nobody decided within \(Self.spoken(seconds: held.rule.timeoutSeconds))"
                // In a task of its own: a cancelled task's database calls would be cancelled too.
                let closed = await Task { try? await desk.store.close(id: approval.id, as: status, reason: reason) }.value
                if let closed { return closed }
                var unrecorded = approval
                unrecorded.status = status
                unrecorded.reason = reason
                return unrecorded
            }
            if let current = try? await desk.store.approval(id: approval.id), current.status != .pending {
                return current
            }
            if let token = held.progressToken, clock.now >= nextProgress {
                progress += 1
                nextProgress = clock.now.advanced(by: desk.progressInterval)
                client.write(Self.progressNotification(token: token, progress: progress, approval: approval), about: held.id)
            }
            // Until the next poll, progress notification or the deadline, whichever comes first.
            let announced = listener?.isLive == true
            var wake = clock.now.advanced(by: announced ? desk.announcedPollInterval : desk.pollInterval)
            if held.progressToken != nil { wake = min(wake, nextProgress) }
            wake = min(wake, deadline)
            let timeout = clock.now.duration(to: wake)
            if announced, let listener {
                await listener.next(orAfter: timeout, clock: clock)
            } else {
                try? await clock.sleep(for: timeout)
            }
        }
    }

    /// Forwards an approved call; answers any other outcome with a denial.
    private func settle(_ held: HeldCall, outcome: Approval, message: [UInt8], server: any Upstream) async {
        var record = held.record
        record.approval = outcome.id
        record.time = Date()
        let by = outcome.decidedBy.map { " by \($0)" } ?? ""
        let because = outcome.reason.map { ": \($0)" } ?? ""
        let clientGaveUp = clientGaveUp(RequestKey(held.id))
        if outcome.status == .approved && clientGaveUp {
            // Approved as the client cancelled: it no longer wants the call, nor an answer.
            await refuseHeld(
                held, decision: "approval_cancelled", approval: outcome.id,
                message: "approved\(by)\(because), but the client had cancelled the call", answer: false)
            return
        }
        guard outcome.status == .approved else {
            let text =
                switch outcome.status {
                case .denied: "denied\(by)\(because) (approval \(outcome.id))"
                case .expired: "not approved: \(outcome.reason ?? "timed out") (approval \(outcome.id))"
                default: "not approved: \(outcome.reason ?? "cancelled") (approval \(outcome.id))"
                }
            await refuseHeld(held, decision: "approval_" + outcome.status.rawValue, approval: outcome.id, message: text, answer: !clientGaveUp)
            return
        }
        if let desk = configuration.approvals, let revoked = await desk.revocation(outcome) {
            // Revocation is the emergency stop: it wins over an approval given before it.
            try? await desk.store.withdraw(id: outcome.id, reason: revoked)
            await refuseHeld(
                held, decision: "approval_cancelled", approval: outcome.id,
                message: "approved\(by), but \(revoked) before it ran (approval \(outcome.id))")
            return
        }
        record.decision = "approved"
        record.message = "approved\(by)\(because)"
        guard await writeIntent(nil, for: &record) else {
            await refuseHeld(
                held, decision: "deny", approval: outcome.id,
                message: "approved\(by), but " + StoreUnavailable.reason(couldNot: "record the call"))
            return
        }
        let pending = SessionState.PendingCall(reservations: held.decision.reservations, started: .now, record: record)
        guard case .object(let body)? = try? JSONReader.parse(message),
            case .forward(let renamed) = forward(id: held.id, key: RequestKey(held.id), body: body, bytes: message, purpose: .call(pending))
        else {
            await refuseHeld(
                held.finishing(record.intent), decision: "approved", approval: outcome.id,
                message: "approved, but the server \(configuration.serverName) has exited")
            return
        }
        logger.notice("approved call forwarded", metadata: ["approval": "\(outcome.id)", "by": "\(outcome.decidedBy ?? "-")"])
        await server.send(renamed)
    }

    /// Gives a held call's counts back, audits `decision`, and (unless the client gave up)
    /// answers it with a policy denial saying `message`. Runs in a task of its own, so that a
    /// cancelled wait still gives its counts back.
    private func refuseHeld(_ held: HeldCall, decision: String, approval: String?, message: String, answer: Bool = true) async {
        await Task {
            await rollBack(held.decision.reservations)
            var record = held.record
            record.time = Date()
            record.decision = decision
            record.approval = approval
            record.message = message
            log(record)
            // Answered: the client may use the id again at once.
            state.withLock { $0.release(heldCall: RequestKey(held.id), serial: held.serial) }
            guard answer else {
                client.abandon(held.id)
                return
            }
            let denial = Decision(outcome: .deny, rule: held.decision.rule, message: message)
            client.write(PolicyDenialResult.response(id: held.id, decision: denial))
        }.value
    }

    /// Whether the client cancelled the held call `key` itself.
    private func clientGaveUp(_ key: RequestKey) -> Bool {
        state.withLock { $0.heldCalls[key]?.clientGaveUp.withLock { $0 } } ?? false
    }

    static func progressNotification(token: JSONValue, progress: Int, approval: Approval) -> [UInt8] {
        let message: JSONValue = [
            "jsonrpc": "2.0", "method": "notifications/progress",
            "params": [
                "progressToken": token,
                "progress": .number(JSONNumber(progress)),
                "message": .string("waiting for approval \(approval.id) (until \(approval.expiresAt.formatted(.iso8601)))"),
            ],
        ]
        return Array(JSONWriter.write(message).utf8)
    }

    /// `600` → `10m`, `90` → `90s`.
    static func spoken(seconds: Int) -> String {
        seconds % 3600 == 0 ? "\(seconds / 3600)h" : seconds % 60 == 0 ? "\(seconds / 60)m" : "\(seconds)s"
    }
}
