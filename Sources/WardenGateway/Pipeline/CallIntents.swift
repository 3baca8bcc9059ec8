import Foundation
import Logging
import WardenPolicy
import WardenStore

/// The write-ahead step of a forwarded call: before a call reaches the server, its draft audit
/// record is durable in the store as a ``CallIntent``, so that a gateway killed while the call is
/// in flight leaves it behind to be recovered as an interrupted record, never unaudited.
///
/// In SQLite an intent is a line appended to the store's intent journal; in PostgreSQL it is
/// written in the statement that reserves the call's counts, or else batched with concurrent
/// calls' intents. Every audit record of the call after that carries the intent's id
/// (``AuditRecord/intent``), which finishes the intent when the record is appended. A store
/// that keeps no intents (in memory) skips the step.
extension SessionPipeline {
    /// The intent of a call the policy may let through, drafted before the decision for a store
    /// that writes it along with the call's reservation (``CallIntentStore/writesWithReservations``):
    /// `record` as drafted so far (its decision `allow`, which the call's own record replaces).
    /// `nil` for other stores, which get the intent from ``writeIntent(_:for:)`` once decided.
    func draftIntent(_ record: AuditRecord) -> CallIntent.Pending? {
        guard let intents = audit.intents, intents.writesWithReservations else { return nil }
        var draft = record
        draft.decision = "allow"
        draft.intent = nil
        return CallIntent.Pending(CallIntent(record: draft, instance: audit.instance))
    }

    /// Decides `call`, writing `intent` along with its reservation when it reserves counts in the store.
    func decide(_ call: ToolCall, with enforcer: PolicyEnforcer, now: Date, intent: CallIntent.Pending?) async throws -> Decision {
        guard let intent else { return try await enforcer.decide(call, now: now) }
        return try await CallIntent.$withReservation.withValue(intent) { try await enforcer.decide(call, now: now) }
    }

    /// Makes the intent of a call about to be forwarded durable, unless its reservation already
    /// wrote it (`pending`), and sets `record.intent`: `false` when the store failed (the call
    /// must not go). The intent written is `record` as it stands.
    func writeIntent(_ pending: CallIntent.Pending?, for record: inout AuditRecord) async -> Bool {
        guard let intents = audit.intents else { return true }
        if let pending, pending.isWritten {
            record.intent = pending.intent.id
            return true
        }
        let id = pending?.intent.id ?? CallIntent.newID()
        // The intent and the record that completes the call are both written from this text.
        record.keepDraftText()
        // Made in place in the array written: the record is copied once.
        var written = [CallIntent(id: id, record: record, instance: audit.instance)]
        written[0].record.intent = nil
        record.intent = id
        do {
            // Neither store's write stops for a client's cancellation: SQLite's is one append to
            // a file, PostgreSQL's runs in its batcher's own task.
            try await intents.write(written)
            return true
        } catch {
            logger.error("could not record a call before forwarding it; call refused (fail closed)", metadata: ["error": "\(error)"])
            metrics?.storeFailed()
            return false
        }
    }

    /// What the agent is told when a call's intent could not be written.
    static let intentStoreUnavailable = "[POLICY DENIED] " + StoreUnavailable.reason(couldNot: "record the call in its state store")
}

extension CallIntent.Pending {
    /// The intent's id once it is written (with a reservation); `nil` before.
    var writtenID: String? { isWritten ? intent.id : nil }
}

extension HeldCall {
    /// The held call, its records finishing the intent `id` (written when it was approved).
    func finishing(_ id: String?) -> HeldCall {
        var held = self
        held.record.intent = id
        return held
    }
}
