import HTTPTypes
import HummingbirdTesting
import Testing
import WardenJSON
import WardenStore

@testable import WardenGateway

/// `GET /admin/api/approvals/changes`, the dashboard's stream of approval changes: for
/// signed-in admins only, and 404 (the dashboard then polls) from a store that announces
/// nothing. (With PostgreSQL, tests/e2e/test_multi_instance_postgres.py reads the stream.)
@Suite struct ApprovalChangesRouteTests {
    @Test func aStoreWithoutAnnouncementsAnswers404AndStrangersAre401() async throws {
        let fixture = try await HTTPGatewayTests.Fixture()
        let (_, viewer) = try await fixture.store.adminTokens.create(name: "watcher", role: .viewer)
        try await fixture.test { client in
            let stranger = try await client.execute(uri: "/admin/api/approvals/changes", method: .get)
            #expect(stranger.status == .unauthorized)
            let refused = try await client.execute(
                uri: "/admin/api/approvals/changes", method: .get, headers: [.authorization: "Bearer \(viewer)"])
            #expect(refused.status == .notFound)
            let message = try HTTPGatewayTests.json(refused)["error"]?.stringValue
            #expect(message?.contains("does not announce changes; poll /admin/api/approvals") == true)
            // The approvals by id are still reached beside it.
            let missing = try await client.execute(
                uri: "/admin/api/approvals/a_missing", method: .get, headers: [.authorization: "Bearer \(viewer)"])
            #expect(missing.status == .notFound)
        }
    }
}
