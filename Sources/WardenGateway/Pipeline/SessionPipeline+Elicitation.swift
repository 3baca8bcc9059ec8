import Foundation
import Logging
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

extension SessionPipeline {
    /// When the policy names the caller (`approvers: [user]`) and the client declared the
    /// `elicitation` capability, asks the user to approve or deny the held call with an
    /// `elicitation/create` request (form mode) and records their answer as the decision.
    /// Cancelling the returned task withdraws the question.
    func askCallerIfNamed(_ approval: Approval, held: HeldCall) -> Task<Void, Never>? {
        guard approval.approvers.contains(Approval.callerApprover), let desk = configuration.approvals,
            !configuration.callerAskedByTransport, state.withLock({ $0.clientElicits })
        else { return nil }
        return Task {
            let question = CallerApproval.question(for: approval)
            guard let response = try? await self.requestClient("elicitation/create", params: question, about: held.id) else { return }
            // An error, or a dismissed form (`cancel`), decides nothing: other approvers still may.
            guard let (approve, reason) = CallerApproval.decision(in: response["result"]) else {
                self.logger.info("the user did not answer the approval question", metadata: ["approval": "\(approval.id)"])
                return
            }
            do {
                _ = try await desk.store.decide(id: approval.id, approve: approve, by: Approval.callerApprover, reason: reason)
            } catch {
                self.logger.info("the user's answer came too late", metadata: ["approval": "\(approval.id)", "error": "\(error)"])
            }
        }
    }

    /// Sends Warden's own request to the client, on the stream of the client's request
    /// `related` to it, and waits for its answer. Cancelled, the request is withdrawn with
    /// `notifications/cancelled`.
    func requestClient(_ method: String, params: JSONValue, about related: JSONValue) async throws -> JSONObject {
        // Unpredictable, so that no server can send the client a request with the same id
        // and have its answer taken for the user's.
        var generator = SystemRandomNumberGenerator()
        let id = JSONValue.string("warden-" + String(generator.next() as UInt64, radix: 16) + String(generator.next() as UInt64, radix: 16))
        let key = RequestKey(id)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let registered = state.withLock { state -> Bool in
                    guard !Task.isCancelled else { return false }
                    state.ownClientRequests[key] = continuation
                    return true
                }
                guard registered else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let message: JSONValue = ["jsonrpc": "2.0", "id": id, "method": .string(method), "params": params]
                client.write(Array(JSONWriter.write(message).utf8), about: related)
            }
        } onCancel: {
            guard let continuation = state.withLock({ $0.ownClientRequests.removeValue(forKey: key) }) else { return }
            continuation.resume(throwing: CancellationError())
            let withdrawal: JSONValue = [
                "jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": ["requestId": id, "reason": "decided elsewhere"],
            ]
            client.write(Array(JSONWriter.write(withdrawal).utf8), about: related)
        }
    }
}
