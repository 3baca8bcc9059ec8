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

    /// A `tools/call` forwarded to the server and not yet answered.
    struct PendingCall {
        var reservations: [CounterReservation]
        var started: ContinuousClock.Instant
        var record: AuditRecord
    }

    /// The tools the server advertised, by exact name.
    var tools: [ExactName: KnownTool] = [:]
    /// Whether `tools` holds the server's whole list (Warden fetched every page itself).
    var toolsComplete = false
    /// Ids of the client's `tools/list` requests, whose results are filtered.
    var clientToolLists: Set<RequestKey> = []
    /// Forwarded calls awaiting the server's answer.
    var pendingCalls: [RequestKey: PendingCall] = [:]
    /// Calls held for approval, each waited for by a task of its own.
    var heldCalls: [RequestKey: HeldCallEntry] = [:]
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
    /// to the server, keyed by each forwarded request: they join the server's batch response.
    var heldBatchAnswers: [RequestKey: HeldAnswers] = [:]

    /// A held call's waiting task, and why it was cancelled (set before cancelling it).
    final class HeldCallEntry: Sendable {
        let task: Task<Void, Never>
        let cancelReason = Mutex<String?>(nil)
        /// The client cancelled the call itself: it expects no answer.
        let clientGaveUp = Mutex(false)

        init(task: Task<Void, Never>) {
            self.task = task
        }
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

    /// Takes the held answers of the batches the responses `keys` belong to.
    mutating func takeHeldAnswers(for keys: [RequestKey]) -> [JSONValue] {
        var taken: [JSONValue] = []
        for key in keys {
            if let held = heldBatchAnswers.removeValue(forKey: key) { taken += held.take() }
        }
        return taken
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
