import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import WardenJSON

@testable import WardenGateway

/// Several instances behind a load balancer: a session id names the instance that opened it,
/// and an instance reached with another's id (or `requestState`) says whose it is.
@Suite struct SessionOwnershipTests {
    typealias Gateway = HTTPGatewayTests

    @Test func aSessionIdStartsWithTheInstancesName() throws {
        let instance = GatewayInstance(configured: "a")
        let id = instance.newIdentifier()
        #expect(id.hasPrefix("a."))
        #expect(id.count == 2 + 64)
        #expect(id.dropFirst(2).allSatisfy { $0.isHexDigit })
        #expect(GatewayInstance.owner(of: id) == "a")
        #expect(instance.foreignOwner(of: id) == nil)
        #expect(instance.foreignOwner(of: "b." + GatewayInstance.randomHex()) == "b")
        // Ids of no instance's making (an older version's, made up) are nobody's: plain 404s.
        #expect(GatewayInstance.owner(of: GatewayInstance.randomHex()) == nil)
        #expect(GatewayInstance.owner(of: "a b.1") == nil)
        #expect(instance.foreignOwner(of: "x") == nil)
    }

    @Test func anUnconfiguredNameIsDerivedFromTheListeningAddress() {
        #expect(GatewayInstance.derivedName(host: "127.0.0.1", port: 8081) == "127-0-0-1-8081")
        #expect(GatewayInstance.derivedName(host: "::1", port: 9000) == "--1-9000")
        #expect(GatewayInstance.derivedName(host: "0.0.0.0", port: 8940).hasSuffix("-8940"))
        #expect(GatewayInstance.derivedName(host: "0.0.0.0", port: 8940) != "0-0-0-0-8940")
        let instance = GatewayInstance(configured: nil)
        instance.listened(host: "127.0.0.1", port: 8082)
        #expect(instance.newIdentifier().hasPrefix("127-0-0-1-8082."))
        #expect(GatewayInstance(configured: "web-1").name == "web-1")
        #expect(GatewayInstance.isValidName("web-1"))
        #expect(!GatewayInstance.isValidName("web.1"))
        #expect(!GatewayInstance.isValidName(""))
        #expect(!GatewayInstance.isValidName(String(repeating: "a", count: 64)))
    }

    @Test func theInstanceNameIsConfiguredAndABadOneIsAnError() async throws {
        let named = try await Gateway.Fixture(limits: "").gateway.configuration.listen.instance
        #expect(named == nil)  // derived when listening
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-instance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "version: \"1\"\ndefault: allow\n".write(to: folder.appending(path: "policy.yaml"), atomically: true, encoding: .utf8)
        let path = folder.appending(path: "warden.yaml").path
        func load(_ instance: String) throws -> GatewayConfiguration {
            let config = "version: \"1\"\nlisten: {instance: \"\(instance)\"}\nservers:\n  echo: {command: [cat], policy: policy.yaml}\n"
            return try GatewayConfiguration.load(Array(config.utf8), file: path, environment: [:])
        }
        #expect(try load("web-2").listen.instance == "web-2")
        #expect(throws: (any Error).self) { _ = try load("a.b") }
        #expect(throws: (any Error).self) { _ = try load("") }
    }

    @Test func anotherInstancesSessionIsNotFoundWithItsOwnerNamed() async throws {
        let fixture = try await Gateway.Fixture()
        let (_, token) = try await fixture.grant()
        let here = fixture.gateway.instance.name
        try await fixture.test { client in
            let opened = try await Gateway.post(client, "/mcp/echo", Gateway.initialize, token: token)
            let session = try #require(opened.headers[.mcpSessionID])
            #expect(GatewayInstance.owner(of: session) == here)

            let foreign = "elsewhere-2." + GatewayInstance.randomHex()
            let refused = try await Gateway.post(client, "/mcp/echo", Gateway.call("echo"), token: token, session: foreign)
            #expect(refused.status == .notFound)
            let message = try #require(try Gateway.json(refused)["error"]?["message"]?.stringValue)
            #expect(message.contains("belongs to the Warden instance elsewhere-2"))
            #expect(message.contains("reached \(here)"))
            let stream = try await client.execute(
                uri: "/mcp/echo", method: .get,
                headers: [.authorization: "Bearer \(token)", .mcpSessionID: foreign, .accept: "text/event-stream"])
            #expect(stream.status == .notFound)

            // One of this instance's ids that names no session: the plain 404.
            let unknown = try await Gateway.post(
                client, "/mcp/echo", Gateway.call("echo"), token: token, session: "\(here)." + GatewayInstance.randomHex())
            #expect(unknown.status == .notFound)
            #expect(try Gateway.json(unknown)["error"]?["message"]?.stringValue?.contains("belongs to") == false)
        }
    }

    @Test func aStatelessRetryForAnotherInstanceIsRefusedWithWhatToDo() async throws {
        let fixture = try await Gateway.Fixture()
        let (_, token) = try await fixture.grant()
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}"#
        let headers: HTTPFields = [.mcpProtocolVersion: "2026-07-28", .mcpMethod: "tools/call", .mcpName: "echo"]
        let state = "elsewhere-2." + GatewayInstance.randomHex()
        try await fixture.test { client in
            let retry = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{},"requestState":"\#(state)","inputResponses":{},\#(meta)}}"#
            let refused = try await Gateway.post(client, "/mcp/echo", retry, token: token, headers: headers)
            #expect(refused.status == .badRequest)
            let error = try #require(try Gateway.json(refused)["error"])
            #expect(error["code"] == -32602)
            #expect(error["message"]?.stringValue?.contains("issued by the Warden instance elsewhere-2") == true)
            #expect(error["message"]?.stringValue?.contains("Send the original call again without requestState") == true)
            #expect(error["data"]?["requestStateInstance"] == "elsewhere-2")
        }
    }
}
