import WardenJSON
import WardenMCP

/// A session of a Streamable HTTP endpoint: one server's (``HTTPSession``, `/mcp/<server>`)
/// or the aggregated one's (``AggregateSession``, `/mcp`). The one POST flow hands it the
/// client's messages; its stream carries what the servers send of their own.
protocol ClientSession: AnyObject, Sendable {
    /// The `Mcp-Session-Id`.
    var id: String { get }
    /// Where the servers' own requests and notifications go, for the session's GET.
    var stream: ClientStream { get }

    /// Hands over the admitted messages of a POST and returns what answers its requests, in
    /// order (none when it carries no request). With `streaming` (the POST takes an event
    /// stream), a call held for approval comes back as the stream of messages about it.
    func exchange(_ posted: PostedMessages, streaming: Bool, timeout: Duration, httpRequest: String) async -> [ResponseSlot.Outcome]
}

extension HTTPSession: ClientSession {
    func exchange(_ posted: PostedMessages, streaming: Bool, timeout: Duration, httpRequest: String) async -> [ResponseSlot.Outcome] {
        guard !posted.requests.isEmpty else {
            send(posted.messages, parsed: posted.admitted, httpRequest: httpRequest)
            return []
        }
        if streaming {
            return await exchangeStreaming(
                posted.messages, parsed: posted.admitted, requests: posted.requests, timeout: timeout, httpRequest: httpRequest)
        }
        return await exchange(posted.messages, parsed: posted.admitted, requests: posted.requests, timeout: timeout, httpRequest: httpRequest)
            .map(ResponseSlot.Outcome.answer)
    }
}

extension AggregateSession: ClientSession {
    func exchange(_ posted: PostedMessages, streaming: Bool, timeout: Duration, httpRequest: String) async -> [ResponseSlot.Outcome] {
        if streaming, !posted.isBatch, let message = posted.admitted.first, case .request(let id, "tools/call", let body)? = try? JSONRPCMessage(message) {
            // A single call may be held: its POST then streams the messages about it.
            return [await callToolStreaming(body, id: id, timeout: timeout, httpRequest: httpRequest)]
        }
        var outcomes: [ResponseSlot.Outcome] = []
        for element in posted.admitted {
            if let answer = await handle(element, timeout: timeout, httpRequest: httpRequest) { outcomes.append(.answer(answer)) }
        }
        return outcomes
    }
}
