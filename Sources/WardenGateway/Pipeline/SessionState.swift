import Foundation
import Synchronization
import WardenJSON
import WardenMCP
import WardenPolicy
import WardenStore

/// What one relayed session remembers between messages.
struct SessionState {
    /// A tool the server advertised, with its input schema compiled for `validate_input`.
    struct KnownTool {
        var inputSchema: ArgumentSchema?
        /// The arguments its calls mirror in `Mcp-Param-*` headers (stateless revision).
        var headerParameters: [MCPParamHeaders.Declaration]
    }

    /// A `tools/call` forwarded to the server and not yet answered. A class: the forwarded
    /// request that carries it is copied in and out of the session's state, and copying the
    /// audit record's many fields each time cost more than sharing one reference.
    final class PendingCall: Sendable {
        let reservations: [CounterReservation]
        let started: ContinuousClock.Instant
        let record: AuditRecord

        init(reservations: [CounterReservation], started: ContinuousClock.Instant, record: AuditRecord) {
            self.reservations = reservations
            self.started = started
            self.record = record
        }
    }

    /// A client's request sent to the server under an id of Warden's own (see
    /// ``SessionState/forwarded``), until the server answers it.
    struct ForwardedRequest {
        /// What the answer is for, which says what Warden does with it.
        enum Purpose {
            /// A `tools/call`: its outcome is audited, its counts given back on an error.
            case call(PendingCall)
            /// A `tools/list`: its result is filtered. `firstPage` when it asked for no cursor.
            case toolList(firstPage: Bool)
            /// Anything else: the answer passes unchanged.
            case other
        }

        /// The id the client gave it.
        var client: ClientRequestID
        var purpose: Purpose
    }

    /// The id a client gave one of its requests: as a value, as the exact bytes it sent (which
    /// its answer carries back), and as a key. Small, so that routing an answer copies only
    /// this and not the request's audit record.
    struct ClientRequestID {
        var value: JSONValue
        var text: [UInt8]
        var key: RequestKey
    }

    /// The tools the server advertised, by exact name.
    var tools: [ExactName: KnownTool] = [:]
    /// Whether `tools` holds the server's whole list (Warden fetched every page itself).
    var toolsComplete = false
    /// The definitions of the tools listed, when a ``ToolDefinitionGuard`` checks them.
    var listedDefinitions: [ExactName: ToolDefinitionGuard.Listed] = [:]
    /// The client's requests sent to the server and not yet answered, by the id Warden gave
    /// each (a number of its own: so an answer is matched to its request whatever id the
    /// client chose, repeated, or the server re-encoded).
    var forwarded: [Int: ForwardedRequest] = [:]
    /// The Warden id of each forwarded request, by the client's id.
    var forwardedIDs: [RequestKey: Int] = [:]
    /// The last Warden id given to a forwarded request.
    var lastForwardedID = 0
    /// Calls held for approval, each waited for by a task of its own.
    var heldCalls: [RequestKey: HeldCallEntry] = [:]
    /// The serial number of the last call held (see ``HeldCallEntry/serial``).
    var lastHeldSerial = 0
    /// Whether the client declared the `elicitation` capability in `initialize`.
    var clientElicits = false
    /// Warden's own requests to the client (elicitation), awaiting answers.
    var ownClientRequests: [RequestKey: CheckedContinuation<JSONObject, any Error>] = [:]
    /// Warden's own requests to the server, awaiting answers.
    var ownRequests: [RequestKey: CheckedContinuation<JSONObject, any Error>] = [:]
    /// The number of Warden's own requests so far (to either side), for their ids.
    var ownRequestCount = 0
    /// The server's stdout has ended.
    var serverGone = false
    /// Warden's own answers to refused elements of a client batch whose other requests went
    /// to the server, keyed by each forwarded request's Warden id: they join the server's
    /// batch response.
    var heldBatchAnswers: [Int: HeldAnswers] = [:]

    /// A held call's waiting task, and why it was cancelled (set before cancelling it).
    final class HeldCallEntry: Sendable {
        let task: Task<Void, Never>
        /// Tells this hold from a later one of a call with the same id.
        let serial: Int
        let cancelReason = Mutex<String?>(nil)
        /// The client cancelled the call itself: it expects no answer.
        let clientGaveUp = Mutex(false)

        init(task: Task<Void, Never>, serial: Int) {
            self.task = task
            self.serial = serial
        }
    }

    /// Forgets the held call `key` once it is answered, unless a later call with the same id
    /// is held by now.
    mutating func release(heldCall key: RequestKey, serial: Int) {
        if heldCalls[key]?.serial == serial { heldCalls.removeValue(forKey: key) }
    }

    /// Answers waiting for a batch response; a class so every forwarded request of one batch
    /// shares them and they are sent once. Only touched under the session's lock.
    final class HeldAnswers: @unchecked Sendable {
        var answers: [JSONValue]

        init(_ answers: [JSONValue]) {
            self.answers = answers
        }

        /// The answers, the first time they are asked for; empty afterwards.
        func take() -> [JSONValue] {
            defer { answers = [] }
            return answers
        }
    }


    /// Remembers a request about to be sent to the server; returns the Warden id it goes under.
    mutating func remember(_ request: ForwardedRequest) -> Int {
        lastForwardedID += 1
        forwarded[lastForwardedID] = request
        forwardedIDs[request.client.key] = lastForwardedID
        return lastForwardedID
    }

    /// The forwarded request Warden's `id` names, taken out: its answer has come (or will not);
    /// with the answers Warden holds for its batch (the first time one of the batch is taken),
    /// which go to the client with it.
    mutating func takeForwarded(_ id: Int) -> (request: ForwardedRequest, held: [JSONValue])? {
        guard let request = forwarded.removeValue(forKey: id) else { return nil }
        forwardedIDs.removeValue(forKey: request.client.key)
        return (request, heldBatchAnswers.removeValue(forKey: id)?.take() ?? [])
    }

    /// Whether a request of the client's with id `key` is still in progress (forwarded and
    /// unanswered, or held for approval): a second one with the same id is refused.
    func isInProgress(_ key: RequestKey) -> Bool {
        forwardedIDs[key] != nil || heldCalls[key] != nil
    }

    mutating func remember(_ advertised: [ToolListFilter.Tool]) {
        for tool in advertised {
            tools[ExactName(tool.name)] = KnownTool(
                inputSchema: tool.inputSchema.map(ArgumentSchema.compile(toolInputSchema:)),
                headerParameters: tool.inputSchema.map(MCPParamHeaders.declarations(in:)) ?? [])
        }
    }
}

/// Why Warden's own request to the server failed.
struct OwnRequestError: Error, CustomStringConvertible {
    var description: String
}
