import Testing

@testable import WardenStore

@Suite struct PostgresConfigurationTests {
    @Test func readsEveryPartOfAURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://warden:s%40cret@db.example:6543/state?sslmode=verify-full&sslrootcert=/etc/ca.pem&pool_size=4&connect_timeout=2&query_timeout=3")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "warden")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "state")
        #expect(configuration.tls == .verifyFull(caFile: "/etc/ca.pem"))
        #expect(configuration.poolSize == 4)
        #expect(configuration.connectTimeout == .seconds(2))
        #expect(configuration.queryTimeout == .seconds(3))
    }

    @Test func defaultsAreLibpqs() throws {
        let configuration = try PostgresConfiguration(url: "postgres://alice@127.0.0.1")
        #expect(configuration == PostgresConfiguration(host: "127.0.0.1", username: "alice", database: "alice"))
        #expect(configuration.tls == .prefer)
        #expect(configuration.port == 5432)
        #expect(configuration.poolSize == 16)
        #expect(configuration.queryTimeout == .seconds(5))
    }

    @Test(arguments: [
        ("disable", PostgresConfiguration.TLS.disable), ("allow", .prefer), ("prefer", .prefer), ("require", .require),
        ("verify-ca", .verifyFull(caFile: nil)), ("verify-full", .verifyFull(caFile: nil)),
    ])
    func mapsEverySSLMode(mode: String, tls: PostgresConfiguration.TLS) throws {
        #expect(try PostgresConfiguration(url: "postgres://u@h/d?sslmode=\(mode)").tls == tls)
    }

    @Test func readsAnIPv6Host() throws {
        let configuration = try PostgresConfiguration(url: "postgres://u@[::1]:5433/d")
        #expect(configuration.host == "::1")
        #expect(configuration.location == "postgres://u@[::1]:5433/d")
    }

    @Test func locationNeverShowsThePassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://warden:hunter2@db:5432/warden")
        #expect(configuration.location == "postgres://warden@db:5432/warden")
        #expect(StoreConfiguration.postgres(configuration).location == "postgres://warden@db:5432/warden")
    }

    @Test(arguments: [
        ("mysql://u:hunter2@h/d", "scheme"),
        ("postgres://h/d", "no user name"),
        ("postgres://u:hunter2@/d", "no host"),
        ("postgres://u:hunter2@h/d?sslmode=sometimes", "sslmode \"sometimes\""),
        ("postgres://u:hunter2@h/d?pool_size=0", "pool_size"),
        ("postgres://u:hunter2@h/d?connect_timeout=soon", "connect_timeout"),
        ("postgres://u:hunter2@h/d?query_timeout=-1", "query_timeout"),
        ("postgres://u:hunter2@h/d?colour=blue", "unknown parameter \"colour\""),
        ("postgres://u:hunter2@h/d?sslmode=disable&sslrootcert=/ca.pem", "sslrootcert"),
        ("postgres://u:hunter2@h/d?sslmode=disable&sslmode=require", "twice"),
        ("postgres://u:hunter2@h/a/b", "slash"),
        ("not a url at all", "URL"),
    ])
    func refusesWhatIsWrongWithoutShowingThePassword(url: String, mention: String) {
        let error = #expect(throws: StoreError.self) { try PostgresConfiguration(url: url) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.description.contains(mention) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("hunter2") == false)
    }
}
