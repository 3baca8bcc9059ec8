import WardenJSON
import WardenMCP

/// A POST's body sorted out before anything of it reaches a session: the messages to hand
/// over, the requests whose answers the POST waits for, and Warden's answers to the elements
/// it refuses at once: what is not a JSON-RPC message Warden can route (an `id` that is
/// `true`, an object or `null` on a request; a batch inside a batch), and a request that
/// repeats the id of an earlier request of the same batch.
struct PostedMessages {
    /// The admitted messages, in order, as values.
    private(set) var admitted: [JSONValue] = []
    /// The admitted messages' bytes: the body itself for a single message, each element of a
    /// batch re-encoded (so that servers without batch support serve them too).
    private(set) var messages: [[UInt8]] = []
    /// The admitted requests, whose answers the POST waits for.
    private(set) var requests: [(key: RequestKey, id: JSONValue)] = []
    /// Warden's answers to the refused elements.
    private(set) var refusals: [[UInt8]] = []
    /// Whether the body is a batch.
    let isBatch: Bool

    init(_ value: JSONValue, body: [UInt8]) {
        guard case .array(let elements) = value else {
            isBatch = false
            var seen: Set<RequestKey> = []
            admit(value, bytes: body, seen: &seen)
            return
        }
        isBatch = true
        var seen: Set<RequestKey> = []
        for element in elements { admit(element, bytes: nil, seen: &seen) }
    }

    private mutating func admit(_ element: JSONValue, bytes: [UInt8]?, seen: inout Set<RequestKey>) {
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(element)
        } catch {
            refusals.append(JSONRPCError.response(id: error.id, code: JSONRPCError.invalidRequest, message: "Invalid Request: \(error)"))
            return
        }
        if case .request(let id, _, _) = message {
            let key = RequestKey(id)
            guard seen.insert(key).inserted else {
                refusals.append(JSONRPCError.response(
                    id: id, code: JSONRPCError.invalidRequest,
                    message: "Invalid Request: id \(key.text) repeats an earlier request of this batch"))
                return
            }
            requests.append((key, id))
        }
        admitted.append(element)
        messages.append(bytes ?? Array(JSONWriter.write(element).utf8))
    }
}
