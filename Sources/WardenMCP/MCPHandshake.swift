public import WardenJSON

/// The messages of the `initialize` handshake Warden makes as a client itself: with a shared
/// server's process, and with the session it opens for stateless requests.
public enum MCPHandshake {
    /// An `initialize` request from Warden.
    /// - Parameters:
    ///   - id: Its request id.
    ///   - protocolVersion: The revision asked for.
    ///   - capabilities: The client capabilities declared.
    ///   - role: What Warden is doing, as `clientInfo.version` (`shared`, `stateless`).
    public static func initialize(id: JSONValue, protocolVersion: String, capabilities: JSONValue = [:], role: String) -> JSONValue {
        [
            "jsonrpc": "2.0", "id": id, "method": "initialize",
            "params": [
                "protocolVersion": .string(protocolVersion), "capabilities": capabilities,
                "clientInfo": ["name": "warden", "version": .string(role)],
            ],
        ]
    }

    /// The `notifications/initialized` that ends the handshake.
    public static let initialized: JSONValue = ["jsonrpc": "2.0", "method": "notifications/initialized"]
}

/// Paging through `tools/list`: a server may split its tools over pages, each naming the
/// next by `nextCursor`.
public enum ToolListPages {
    /// The most pages read of one server's list (a server that pages for ever is cut off).
    public static let limit = 1000

    /// Calls `page` with each page's cursor (`nil` for the first) until a page names no next
    /// one, or `page` returns `nil` (no result: stop), or ``limit`` pages are read.
    public static func forEach(_ page: (JSONValue?) async throws -> JSONValue?) async rethrows {
        var cursor: JSONValue?
        var pages = 0
        repeat {
            guard let result = try await page(cursor) else { return }
            cursor = result["nextCursor"].flatMap { $0 == .null ? nil : $0 }
            pages += 1
        } while cursor != nil && pages < limit
    }

    /// The params of a `tools/list` request for the page `cursor` names.
    public static func params(cursor: JSONValue?) -> JSONValue {
        cursor.map { ["cursor": $0] } ?? [:]
    }
}
