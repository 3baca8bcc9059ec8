import Foundation
import WardenJSON

extension LimitRule {
    /// The count this rule keeps for `call` at `now`.
    func key(for call: ToolCall, now: Date) -> CounterKey {
        let subject: String =
            switch scope {
            case .grant: call.identity.grant ?? call.identity.name
            case .identity: call.identity.name
            case .session: call.session ?? ""
            case .server: call.server ?? ""
            case .global: ""
            }
        return CounterKey(
            counter: counter,
            scope: scope,
            subject: subject,
            windowStart: window.start(containing: now),
            windowLength: window.length
        )
    }

    /// The reservation this rule makes for `call`, or the denial when the call would exceed it
    /// (or carries no countable amount). `pending` holds reservations earlier rules of the
    /// same call made, so two rules sharing a counter count the call twice.
    func reservation(
        for call: ToolCall,
        now: Date,
        counters: some CounterSnapshot,
        pending: [CounterReservation]
    ) -> Result<CounterReservation, DenialError> {
        let key = key(for: call, now: now)
        var amount: CounterAmount = 1
        if let incrementFrom {
            guard case .number(let number)? = incrementFrom.resolve(in: call), let value = CounterAmount(number),
                value >= .zero
            else {
                return .failure(
                    DenialError(
                        decision: Decision(
                            outcome: .deny,
                            rule: .pointer(pointer),
                            message: "cannot count this call against \"\(counter)\": \(incrementFrom) must be a non-negative number"
                        )))
            }
            amount = value
        }
        let already = pending.reduce(counters.value(of: key)) { $1.key == key ? $0 + $1.amount : $0 }
        guard already + amount <= max else {
            let retryAfter = Int(key.windowEnd - Int64(now.timeIntervalSince1970.rounded(.down)))
            return .failure(DenialError(decision: denial(retryAfter: retryAfter)))
        }
        return .success(CounterReservation(key: key, amount: amount, max: max, rule: pointer))
    }

    /// The decision for a call this limit refuses.
    func denial(retryAfter seconds: Int) -> Decision {
        let unit = incrementFrom == nil ? "calls" : "in total"
        // Counters named only by their rule's pointer are not worth repeating to the agent.
        let name = counter == pointer.description ? "" : "\"\(counter)\" allows "
        return Decision(
            outcome: .deny,
            rule: .pointer(pointer),
            message: "limit reached: \(name)\(max) \(unit) per \(window) per \(scope.rawValue); retry in \(seconds)s",
            retryAfterSeconds: seconds
        )
    }

    /// Wraps a denial so it can travel in a `Result`.
    struct DenialError: Error {
        var decision: Decision
    }
}
