import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WardenJSON
public import WardenStore

/// A client of a remote gateway's admin API (`warden approvals --url`).
public struct AdminClient: Sendable {
    /// The gateway's base URL, e.g. `http://gateway:8080`.
    public var baseURL: String
    /// An admin token (`warden admins create`).
    public var token: String

    /// The admin API refused a request, or could not be reached.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The HTTP status, or `nil` when the gateway could not be reached.
        public var status: Int?
        public var description: String
    }

    public init(baseURL: String, token: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// Approvals, newest first; only those with `status` when given.
    public func approvals(status: Approval.Status?) async throws -> [Approval] {
        let query = status.map { "?status=\($0.rawValue)" } ?? ""
        let value = try await send(.GET, "/admin/api/approvals\(query)")
        return value["approvals"]?.arrayValue?.compactMap(Approval.init(json:)) ?? []
    }

    /// One approval.
    public func approval(id: String) async throws -> Approval {
        try Self.approval(in: try await send(.GET, "/admin/api/approvals/\(Self.escaped(id))"))
    }

    /// Approves or denies a pending approval; the decision is recorded under the token's name.
    public func decide(id: String, approve: Bool, reason: String?) async throws -> Approval {
        let body: JSONValue = reason.map { ["reason": .string($0)] } ?? [:]
        let verb = approve ? "approve" : "deny"
        return try Self.approval(in: try await send(.POST, "/admin/api/approvals/\(Self.escaped(id))/\(verb)", body: body))
    }

    /// Sends one request; returns the JSON answer of a 2xx, throws the API's error otherwise.
    func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: JSONWriter.write(body)))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.failingFast.execute(request, timeout: .seconds(30))
            bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        } catch {
            throw Failure(status: nil, description: "cannot reach \(baseURL): \(error)")
        }
        let value = try? JSONReader.parse(Array(bytes.readableBytesView))
        guard (200..<300).contains(response.status.code) else {
            let message = value?["error"]?.stringValue ?? response.status.reasonPhrase
            throw Failure(status: Int(response.status.code), description: "\(response.status.code): \(message)")
        }
        guard let value else { throw Failure(status: Int(response.status.code), description: "the gateway's answer is not JSON") }
        return value
    }

    private static func approval(in value: JSONValue) throws -> Approval {
        guard let approval = Approval(json: value) else { throw Failure(status: nil, description: "the gateway's answer is not an approval") }
        return approval
    }

    private static func escaped(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
    }
}

extension HTTPClient {
    /// A client that reports a connection it cannot make at once, instead of retrying until
    /// the request's deadline: for the admin CLI and the approvals webhook, which report or
    /// retry on their own. It lives as long as the process.
    static let failingFast: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
