import Synchronization
import WardenJSON
import WardenStore

/// Where one request's answer arrives; the first delivery wins. A request held for approval
/// whose POST accepts an event stream gets one: the messages about it, then its answer.
final class ResponseSlot: Sendable {
    /// What a POST waiting for one request gets first.
    enum Outcome: Sendable {
        /// The answer.
        case answer([UInt8])
        /// The request is held: messages about it, ending with its answer.
        case held(AsyncStream<[UInt8]>)
        /// The request is held for an approval the caller may give (stateless revision).
        case awaitingCaller(Approval)
        /// The server asks the caller something (this request of its own) before it can
        /// answer (stateless revision).
        case needsInput([UInt8])
    }

    /// What the POST waiting for a request does if the request is held for approval.
    enum WhenHeld: Sendable {
        /// It goes on waiting for the answer.
        case waits
        /// It turns into an event stream (progress, questions), ending with the answer.
        case streams
        /// It asks the caller, when the approval names them (stateless revision).
        case asksCaller
    }

    /// The request's id, for a timeout error.
    let id: JSONValue
    let whenHeld: WhenHeld
    private let due: Mutex<ContinuousClock.Instant>
    private let state = Mutex(State())

    private struct State {
        var answer: [UInt8]?
        var waiter: CheckedContinuation<Outcome, Never>?
        var events: AsyncStream<[UInt8]>.Continuation?
        var held: AsyncStream<[UInt8]>?
        /// The approval the caller may give, until a waiter learns of it.
        var callerApproval: Approval?
        /// The server's requests for the caller that no waiter has learnt of yet, oldest first.
        var inputRequests: [[UInt8]] = []
    }

    init(id: JSONValue, deadline: ContinuousClock.Instant, whenHeld: WhenHeld = .waits) {
        self.id = id
        self.whenHeld = whenHeld
        self.due = Mutex(deadline)
    }

    /// When the request times out.
    var deadline: ContinuousClock.Instant { due.withLock { $0 } }

    /// Moves the deadline `duration` later (a call held for approval).
    func postpone(by duration: Duration) {
        due.withLock { $0 += duration }
    }

    /// The request is held: a streaming POST gets its event stream now.
    func hold() {
        guard whenHeld == .streams else { return }
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let waiter = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard state.answer == nil, state.events == nil else { return nil }
            state.events = continuation
            state.held = stream
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .held(stream))
    }

    /// The request waits for `approval`: a POST that asks the caller, when the approval names
    /// them, is answered now (and the answer kept for the caller's retry).
    func awaitCaller(_ approval: Approval) {
        guard whenHeld == .asksCaller, approval.approvers.contains(Approval.callerApprover) else { return }
        let waiter = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard state.answer == nil else { return nil }
            // Nobody waits yet (the call was held before its POST began waiting): kept for ``outcome()``.
            if state.waiter == nil { state.callerApproval = approval }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .awaitingCaller(approval))
    }

    /// The server sends the caller `request` (sampling, elicitation, roots) while this
    /// request waits: a POST that asks the caller gets it now, or when it next waits (several
    /// are asked one at a time, in order). `false` if this POST cannot ask its caller, or has
    /// its answer already.
    func ask(_ request: [UInt8]) -> Bool {
        guard whenHeld == .asksCaller else { return false }
        let (taken, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Outcome, Never>?) in
            guard state.answer == nil else { return (false, nil) }
            guard let waiter = state.waiter else {
                state.inputRequests.append(request)
                return (true, nil)
            }
            state.waiter = nil
            return (true, waiter)
        }
        waiter?.resume(returning: .needsInput(request))
        return taken
    }

    /// The server's requests no waiter has learnt of, taken out (to refuse them when the
    /// request ends without its caller being asked).
    func takeUnaskedRequests() -> [[UInt8]] {
        state.withLock { state in
            defer { state.inputRequests.removeAll() }
            return state.inputRequests
        }
    }

    /// Sends `message` on the request's event stream; `false` if it has none.
    func relate(_ message: [UInt8]) -> Bool {
        guard let events = state.withLock({ $0.answer == nil ? $0.events : nil }) else { return false }
        events.yield(message)
        return true
    }

    func deliver(_ answer: [UInt8]) {
        let (waiter, events) = state.withLock { state -> (CheckedContinuation<Outcome, Never>?, AsyncStream<[UInt8]>.Continuation?) in
            guard state.answer == nil else { return (nil, nil) }
            state.answer = answer
            defer { state.waiter = nil }
            return (state.events == nil ? state.waiter : nil, state.events)
        }
        if let events {
            events.yield(answer)
            events.finish()
        }
        waiter?.resume(returning: .answer(answer))
    }

    /// The answer, or the held request's event stream, whichever comes first. Called once.
    func outcome() async -> Outcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Outcome? in
                if let held = state.held { return .held(held) }
                if let answer = state.answer { return .answer(answer) }
                if let approval = state.callerApproval {
                    state.callerApproval = nil
                    return .awaitingCaller(approval)
                }
                if !state.inputRequests.isEmpty {
                    return .needsInput(state.inputRequests.removeFirst())
                }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// The answer (the last message of a held request's stream).
    func value() async -> [UInt8] {
        while true {
            switch await outcome() {
            case .answer(let answer): return answer
            case .held(let events):
                var last: [UInt8] = []
                for await message in events { last = message }
                return last
            case .awaitingCaller, .needsInput: continue  // asked; the answer comes later
            }
        }
    }
}
