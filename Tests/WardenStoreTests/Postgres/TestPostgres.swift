import Foundation
import PostgresNIO
import Testing

@testable import WardenStore

/// The throwaway PostgreSQL cluster `scripts/test` starts (`WARDEN_TEST_POSTGRES_URL`, a
/// superuser's URL). Each test gets a database of its own. Without the variable, PostgreSQL
/// tests are skipped, saying why; with `WARDEN_REQUIRE_POSTGRES=1` (as `scripts/test` sets)
/// a missing cluster fails ``TestPostgresTests/theClusterIsThereWhenRequired()``.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["WARDEN_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isRequired = ProcessInfo.processInfo.environment["WARDEN_REQUIRE_POSTGRES"] == "1"
    static var isAvailable: Bool { url != nil }

    /// Why PostgreSQL tests are skipped.
    static let skipReason: Comment = "WARDEN_TEST_POSTGRES_URL is not set (scripts/test starts a PostgreSQL cluster and sets it)"

    /// A new, empty database on the test cluster, and its configuration.
    static func newDatabase(poolSize: Int = 4, queryTimeout: Duration = .seconds(10)) async throws -> PostgresConfiguration {
        guard let url else { throw StoreError(.unavailable, "\(skipReason)") }
        var admin = try PostgresConfiguration(url: url)
        admin.tls = .disable
        let name = "warden_test_\(UUID().uuidString.lowercased().replacing("-", with: ""))"
        let client = PostgresClient(configuration: try PostgresStore.clientConfiguration(admin))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        var configuration = admin
        configuration.database = name
        configuration.poolSize = poolSize
        configuration.queryTimeout = queryTimeout
        return configuration
    }

    /// Opens a store on a new, empty database.
    static func newStore(poolSize: Int = 4) async throws -> PostgresStore {
        try await PostgresStore.open(try await newDatabase(poolSize: poolSize))
    }
}

@Suite struct TestPostgresTests {
    @Test func theClusterIsThereWhenRequired() {
        if TestPostgres.isRequired {
            #expect(TestPostgres.isAvailable, "WARDEN_REQUIRE_POSTGRES=1 but WARDEN_TEST_POSTGRES_URL is not set")
        }
    }

    @Test(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason)) func theClusterAnswers() async throws {
        let store = try await TestPostgres.newStore()
        try await store.checkReadable()
        try await store.close()
    }
}
