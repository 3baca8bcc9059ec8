public import Foundation
import WardenJSON

/// Evaluates calls against a policy and reserves their counts in a ledger, exactly: under
/// any number of concurrent calls, a limit never lets more than `max` through in a window.
///
/// Evaluation reads a snapshot of the counts; the ledger then adds the reservations
/// atomically, re-checking each `max`. When another call got there first, the call is
/// evaluated again on fresh counts, so the decision and its rule are always the ones the
/// policy gives for the counts the call actually met.
public struct PolicyEnforcer: Sendable {
    /// The policy.
    public var policy: Policy
    /// Where counts are kept.
    public var ledger: any CounterLedger
    /// How many times a call is re-evaluated after losing a race for a counter. The default is 16.
    public var maxAttempts: Int

    public init(policy: Policy, ledger: any CounterLedger, maxAttempts: Int = 16) {
        self.policy = policy
        self.ledger = ledger
        self.maxAttempts = maxAttempts
    }

    /// Decides `call` at `now` and, when it may go on (allowed, held for approval, or
    /// shadow-mode), reserves its counts. The caller rolls them back with
    /// ``CounterLedger/rollBack(_:)`` if the call then fails or is refused.
    public func decide(_ call: ToolCall, now: Date) async throws -> Decision {
        let keys = policy.counterKeys(for: call, now: now)
        var contended: CounterReservation?
        for _ in 0..<max(maxAttempts, 1) {
            let decision = policy.evaluate(call, counters: keys.isEmpty ? [:] : try await ledger.snapshot(of: keys), now: now)
            guard !decision.reservations.isEmpty else { return decision }
            contended = try await ledger.reserve(decision.reservations)
            if contended == nil { return decision }
        }
        return Self.contentionDenial(contended)
    }

    /// The decision for a call that lost the race for a counter every time it tried.
    private static func contentionDenial(_ contended: CounterReservation?) -> Decision {
        Decision(
            outcome: .deny,
            rule: .pointer(contended?.rule ?? .root),
            message: "limit reached: too many concurrent calls for \"\(contended?.key.counter.value ?? "")\"; retry shortly",
            retryAfterSeconds: 1
        )
    }
}
