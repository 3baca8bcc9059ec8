import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import PostgresNIO
import Testing
import WardenPolicy

@testable import WardenStore

/// Opening a PostgreSQL store: migrations, and when PostgreSQL is gone and back.
@Suite(.enabled(if: TestPostgres.isAvailable, TestPostgres.skipReason))
struct PostgresStoreTests {
    @Test func instancesStartingTogetherMigrateOnce() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<6 { group.addTask { try await PostgresStore.open(configuration) } }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        let version = try await stores[0].database.query("SELECT version FROM warden_schema", "test").first?.decode(Int.self)
        #expect(version == PostgresSchema.currentVersion)
        for store in stores { try await store.close() }
    }

    @Test func aSchemaNewerThanTheBinaryIsRefused() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let store = try await PostgresStore.open(configuration)
        try await store.database.query("UPDATE warden_schema SET version = 99", "test")
        try await store.close()
        let error = await #expect(throws: StoreError.self) { try await PostgresStore.open(configuration) }
        #expect(error?.code == .unavailable)
        #expect(error?.description.contains("version 99") == true)
        #expect(error?.description.contains("version \(PostgresSchema.currentVersion)") == true)
        #expect(error?.description.contains("upgrade warden") == true)
    }

    @Test func aDatabaseWithoutWardenIsNotFoundUnlessCreating() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let error = await #expect(throws: StoreError.self) {
            try await StoreConfiguration.postgres(configuration).open(creatingIfMissing: false)
        }
        #expect(error?.code == .notFound)
        let store = try await StoreConfiguration.postgres(configuration).open()
        try await store.close()
        try await StoreConfiguration.postgres(configuration).open(creatingIfMissing: false).close()
    }

    /// `warden serve`'s way: the pool is a service of the group, the store opens (migrating)
    /// once it runs, is used and closed by a service listed after it, and the group then
    /// stops the pool; the store closed, its operations fail rather than hang.
    @Test func aStoreOpenedInAGroupRunsItsPoolAsTheGroupsService() async throws {
        let configuration = try await TestPostgres.newDatabase()
        let inGroup = try StoreConfiguration.postgres(configuration).openInGroup()
        #expect(inGroup.services.count == 1 && inGroup.services[0] is PostgresClient)
        let opened = Mutex<PostgresStore?>(nil)
        let user = ClosureService {
            let store = try #require(try await inGroup.open() as? PostgresStore)
            opened.withLock { $0 = store }
            let version = try await store.database.query("SELECT version FROM warden_schema", "test").first?.decode(Int.self)
            #expect(version == PostgresSchema.currentVersion)
            try await store.close()
        }
        let group = ServiceGroup(
            configuration: .init(
                services: inGroup.services.map { .init(service: $0) } + [.init(service: user, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await group.run()
        let store = try #require(opened.withLock { $0 })
        await #expect(throws: (any Error).self) { try await store.checkReadable() }
        #expect(try StoreConfiguration.sqlite(path: "/nonexistent/warden.db").openInGroup().services.isEmpty)
    }

    @Test func anUnreachableServerFailsWithinTheBound() async throws {
        // A port nobody listens on.
        var configuration = try PostgresConfiguration(url: "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable")
        configuration.queryTimeout = .seconds(1)
        configuration.connectTimeout = .seconds(1)
        let start = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { try await PostgresStore.open(configuration) }
        #expect(error?.code == .unavailable)
        // Without the bound the pool keeps retrying for about a minute. The margin over the 1 s
        // bound is for a starved test process: a clean-clone CI run took 9.8 s here, with every
        // suite stalled at once, so this must not depend on the machine's speed.
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test(.timeLimit(.minutes(2))) func theStoreFailsPromptlyWhilePostgresIsDownAndRecoversByItself() async throws {
        try await Self.withPrivateCluster(failsPromptlyAndRecovers)
    }

    @Test(.timeLimit(.minutes(2))) func aHungServerTimesOutWithinTheBoundAndIsUsedAgainAfter() async throws {
        try await Self.withPrivateCluster { cluster in
            let configuration = try await Self.migrated(cluster, queryTimeout: .seconds(2))
            let store = try await PostgresStore.open(configuration)
            let limit = reservation("calls", max: 10)
            #expect(try await store.counters.reserve([limit]) == nil)

            try await cluster.freeze()
            let start = ContinuousClock.now
            let error = await #expect(throws: StoreError.self) { try await store.counters.reserve([limit]) }
            #expect(error?.code == .unavailable && error?.description.contains("did not answer within") == true)
            #expect(ContinuousClock.now - start < .seconds(6), "the caller is answered within the bound")
            await #expect(throws: StoreError.self) { try await store.audit.append([auditRecord("t")]) }

            try await cluster.thaw()
            #expect(try await Self.becomesReadable(store))
            #expect(try await store.counters.reserve([limit]) == nil)
            try await store.close()
        }
    }

    /// Runs `body` with a cluster of its own, stopped after whatever happens.
    static func withPrivateCluster(_ body: (PrivateCluster) async throws -> Void) async throws {
        let cluster = try await PrivateCluster.start()
        do {
            try await body(cluster)
        } catch {
            try? await cluster.stop()
            throw error
        }
        try await cluster.stop()
    }

    /// Whether `store` answers again within 15 s (the pool reconnects by itself).
    static func becomesReadable(_ store: PostgresStore) async throws -> Bool {
        for _ in 0..<60 {
            if (try? await store.checkReadable()) != nil { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// The configuration of `cluster`'s database with the given bound, its schema made first
    /// (with the default bound, as a busy machine may take a while to create it).
    static func migrated(_ cluster: PrivateCluster, queryTimeout: Duration) async throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: cluster.url)
        configuration.queryTimeout = .seconds(30)
        try await PostgresStore.open(configuration).close()
        configuration.queryTimeout = queryTimeout
        return configuration
    }

    func failsPromptlyAndRecovers(_ cluster: PrivateCluster) async throws {
        var configuration = try await Self.migrated(cluster, queryTimeout: .seconds(2))
        configuration.connectTimeout = .seconds(1)
        let store = try await PostgresStore.open(configuration)
        let limit = reservation("calls", max: 10)
        #expect(try await store.counters.reserve([limit]) == nil)

        try await cluster.pause()
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let error = await #expect(throws: StoreError.self) { try await store.counters.reserve([limit]) }
            #expect(error?.code == .unavailable)
            #expect(ContinuousClock.now - start < .seconds(6), "within the bound, not hanging")
            await #expect(throws: StoreError.self) { try await store.checkReadable() }
        }

        try await cluster.resume()
        // The pool reconnects by itself: the same store works again (within a bounded wait).
        #expect(try await Self.becomesReadable(store))
        #expect(try await store.counters.reserve([limit]) == nil)
        #expect(try await store.ledger.amounts(of: [limit.key]).first?.1 == 2, "nothing counted while it was down")
        try await store.close()
    }
}

/// A service that runs `body` once.
private struct ClosureService: Service {
    let body: @Sendable () async throws -> Void

    func run() async throws { try await body() }
}
