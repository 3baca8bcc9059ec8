import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import WardenJSON
import WardenMCP
import WardenStore

@testable import WardenGateway

/// A stdio server configured `shared: true`, through the HTTP gateway's router: one echo
/// server process serves every session, each session policed under its own grant and
/// answered only with its own answers. The server logs every line it reads.
@Suite(.timeLimit(.minutes(1))) struct SharedServerTests {
    /// A gateway whose `echo` is one shared echo server; `no-echo.yaml` denies `echo`.
    static func harness() async throws -> UpstreamHarness {
        let log = FileManager.default.temporaryDirectory.appending(path: "warden-shared-\(UUID().uuidString).log").path
        return try await UpstreamHarness(
            """
            listen: {host: 0.0.0.0, port: 0}
            servers:
              echo:
                command: [python3, "\(UpstreamHarness.echoServer)"]
                env: {ECHO_SERVER_LOG: "\(log)"}
                shared: true
                policy: policy.yaml
            """,
            policies: [
                "policy.yaml": UpstreamHarness.allowAll,
                "no-echo.yaml": "version: \"1\"\ndefault: allow\ntools:\n  echo: {action: deny, reason: not for this grant}\n",
            ])
    }

    /// The lines the shared server read, parsed.
    static func serverLines(_ harness: UpstreamHarness) throws -> [JSONValue] {
        guard case .stdio(_, let environment, shared: true)? = harness.gateway.configuration.servers.first?.upstream,
            let log = environment["ECHO_SERVER_LOG"]
        else { throw HarnessError("no shared server log") }
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONReader.parse(String($0)) }
    }

    @Test func twoSessionsShareOneProcessAndEachGetsOnlyItsOwnAnswersUnderTheSameIDs() async throws {
        let harness = try await Self.harness()
        let (_, first) = try await harness.grant(["echo"], label: "first")
        let (_, second) = try await harness.grant(["echo"], label: "second")
        try await harness.test { client in
            var a = MCPClient(client: client, path: "/mcp/echo", token: first)
            var b = MCPClient(client: client, path: "/mcp/echo", token: second)
            let opened = try await [a.open(), b.open()]
            // Each session's initialize is answered from the one the server gave Warden.
            #expect(opened.map { $0["id"] } == [1, 1])
            #expect(opened.allSatisfy { $0["result"]?["serverInfo"]?["name"] == "echo" })

            // Both sessions use ids 1 to 4 at once; the first call of each is slow, so the
            // other session's calls under the same ids arrive while it is in flight.
            let sessions = [("a", a), ("b", b)]
            let answers = try await withThrowingTaskGroup(of: (String, Int, JSONValue).self) { group in
                for (name, session) in sessions {
                    for id in 1...4 {
                        let arguments = #"{"seconds":\#(id == 1 ? "0.3" : "0"),"session":"\#(name)","n":\#(id)}"#
                        group.addTask { (name, id, try await session.call("slow", id: "\(id)", arguments: arguments)) }
                    }
                }
                var answers: [(String, Int, JSONValue)] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
            #expect(answers.count == 8)
            var tags: [String: Set<String>] = [:]
            for (name, id, answer) in answers {
                #expect(answer["id"] == .number(JSONNumber(id)), "session \(name)'s call \(id) came back under its own id")
                let echoed = try #require(answer.echoed, "session \(name)'s call \(id): \(answer)")
                #expect(echoed["params"]?["arguments"]?["session"] == .string(name), "session \(name)'s call \(id) got its own answer")
                #expect(echoed["params"]?["arguments"]?["n"] == .number(JSONNumber(id)))
                // The server saw the call under an id tagged with the session: `w<session>.<Warden's id>`.
                let serverID = try #require(echoed["id"]?.stringValue)
                tags[name, default: []].insert(String(serverID.prefix { $0 != "." }))
            }
            #expect(tags["a"]?.count == 1 && tags["b"]?.count == 1 && tags["a"] != tags["b"], "each session's ids carry its own tag: \(tags)")

            let lines = try Self.serverLines(harness)
            #expect(lines.filter { $0["method"] == "initialize" }.count == 1, "one process, initialized once, by Warden")
            #expect(lines.filter { $0["method"] == "initialize" }.first?["id"] == "warden-shared-initialize")
            #expect(lines.filter { $0["method"] == "tools/call" }.count == 8)
        }
    }

    @Test func aCallOneSessionsPolicyDeniesNeverReachesTheSharedServerAndIsAuditedAsDenied() async throws {
        let harness = try await Self.harness()
        let (allowedGrant, allowed) = try await harness.grant(["echo"], label: "allowed")
        let (deniedGrant, denied) = try await harness.grant(["echo"], policy: "no-echo.yaml", label: "denied")
        try await harness.test { client in
            var a = MCPClient(client: client, path: "/mcp/echo", token: allowed)
            var b = MCPClient(client: client, path: "/mcp/echo", token: denied)
            _ = try await a.open()
            _ = try await b.open()
            let (first, second) = (a, b)
            async let answered = first.call("echo", id: "1", arguments: #"{"from":"allowed"}"#)
            async let refused = second.call("echo", id: "1", arguments: #"{"from":"denied"}"#)
            let (answer, refusal) = try await (answered, refused)

            #expect(answer.echoed?["params"]?["arguments"] == ["from": "allowed"])
            #expect(refusal["id"] == 1)
            #expect(refusal["result"]?["isError"] == true)
            #expect(refusal.text == "[POLICY DENIED] not for this grant (rule /tools/echo/action)")

            let calls = try Self.serverLines(harness).filter { $0["method"] == "tools/call" }
            #expect(calls.map { $0["params"]?["arguments"] } == [["from": "allowed"]], "only the allowed call reached the server")

            let records = try await harness.auditRecords().filter { $0.method == "tools/call" }
            #expect(records.filter { $0.grant == allowedGrant }.map(\.decision) == ["allow"])
            #expect(records.filter { $0.grant == allowedGrant }.map(\.upstreamStatus) == ["ok"])
            #expect(records.filter { $0.grant == deniedGrant }.map(\.decision) == ["deny"])
            #expect(records.filter { $0.grant == deniedGrant }.map(\.tool) == ["echo"])
        }
    }

    @Test func aSessionEndingLeavesTheSharedServerServingTheOthers() async throws {
        let harness = try await Self.harness()
        let (_, token) = try await harness.grant(["echo"])
        try await harness.test { client in
            var a = MCPClient(client: client, path: "/mcp/echo", token: token)
            var b = MCPClient(client: client, path: "/mcp/echo", token: token)
            _ = try await a.open()
            _ = try await b.open()
            #expect(try await a.call("echo", id: "1").echoed != nil)
            let ended = try await client.execute(
                uri: "/mcp/echo", method: .delete, headers: [.authorization: "Bearer \(token)", .mcpSessionID: try #require(a.session)])
            #expect(ended.status == .ok)
            #expect(try await a.post(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#).status == .notFound)

            #expect(try await b.call("echo", id: "1", arguments: #"{"after":"a ended"}"#).echoed?["params"]?["arguments"] == ["after": "a ended"])
            #expect(try Self.serverLines(harness).filter { $0["method"] == "initialize" }.count == 1, "the process was not restarted")
        }
    }
}
