import Foundation
import WardenStore

extension InMemoryStore {
    struct Approvals: ApprovalStore {
        let store: InMemoryStore

        func create(_ approval: Approval) async throws -> Approval {
            var approval = approval
            approval.id = Secrets.newID(prefix: "a_")
            approval.status = .pending
            let pending = approval
            let created = try store.access(.approvals) { state in
                var stored = pending
                if let grant = pending.grant, state.grants.first(where: { $0.id == grant })?.wasChanged(since: pending.createdAt) == true {
                    stored = Self.closed(pending, as: .cancelled, by: nil, reason: "the grant was revoked or its token rotated", now: Date())
                }
                state.approvals[stored.id] = stored
                return stored
            }
            store.announce([created.id])
            return created
        }

        func approval(id: String) async throws -> Approval? {
            try store.access(.approvals) { $0.approvals[id] }
        }

        func list(status: Approval.Status?, limit: Int) async throws -> [Approval] {
            try store.access(.approvals) { state in
                Array(
                    state.approvals.values.filter { status == nil || $0.status == status }
                        .sorted { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.id < $1.id }
                        .prefix(max(0, limit)))
            }
        }

        func decide(
            id: String, approve: Bool, by approver: String, token: String?, reason: String?, now: Date
        ) async throws -> Approval {
            defer { store.announce([id]) }
            let decided = try store.access(.approvals) { state -> Result<Approval, StoreError> in
                guard let approval = state.approvals[id] else { throw StoreError(.notFound, "no approval \(id)") }
                switch approval.check(decisionBy: approver, at: now) {
                case .refused(let refusal):
                    throw refusal
                case .expired(let refusal):
                    state.approvals[id] = Self.closed(approval, as: .expired, by: nil, reason: "nobody decided in time", now: now)
                    return .failure(refusal)
                case .open:
                    var decided = Self.closed(approval, as: approve ? .approved : .denied, by: approver, reason: reason, now: now)
                    if let token { decided.decidedByToken = token }
                    state.approvals[id] = decided
                    return .success(decided)
                }
            }
            return try decided.get()
        }

        func close(id: String, as status: Approval.Status, reason: String, now: Date) async throws -> Approval? {
            defer { store.announce([id]) }
            return try store.access(.approvals) { state in
                guard let approval = state.approvals[id] else { return nil }
                if approval.status == .pending { state.approvals[id] = Self.closed(approval, as: status, by: nil, reason: reason, now: now) }
                return state.approvals[id]
            }
        }

        func withdraw(id: String, reason: String, now: Date) async throws {
            defer { store.announce([id]) }
            try store.access(.approvals) { state in
                guard var approval = state.approvals[id], approval.status == .approved else { return }
                approval.status = .cancelled
                approval.reason = reason
                approval.decidedAt = now
                state.approvals[id] = approval
            }
        }

        @discardableResult
        func closeAbandoned(now: Date, isAlive: @Sendable (String) -> Bool) async throws -> Int {
            let closed = try store.access(.approvals) { state in
                var closed: [String] = []
                for (id, approval) in state.approvals where approval.status == .pending {
                    guard let (status, reason) = approval.abandonment(now: now, isAlive: isAlive) else { continue }
                    state.approvals[id] = Self.closed(approval, as: status, by: nil, reason: reason, now: now)
                    closed.append(id)
                }
                return closed
            }
            store.announce(closed)
            return closed.count
        }

        func changes() -> AsyncStream<String>? {
            store.approvalChanges()
        }

        /// `approval` closed as `status`.
        static func closed(_ approval: Approval, as status: Approval.Status, by approver: String?, reason: String?, now: Date) -> Approval {
            var closed = approval
            closed.status = status
            closed.decidedBy = approver
            closed.reason = reason
            closed.decidedAt = now
            return closed
        }
    }
}
