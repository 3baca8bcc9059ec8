import Foundation
import Testing
import WardenGateway
import WardenPolicy
import WardenStore

/// The configuration's `store:`: SQLite, or PostgreSQL as a URL or in parts, with `${ENV}`,
/// unknown keys refused, and never the password in a problem.
@Suite struct StoreConfigurationLoadingTests {
    let servers = "servers:\n  local: {command: [x], policy: policies/p.yaml}\n"

    func load(_ store: String, environment: [String: String] = [:]) -> Result<GatewayConfiguration, PolicyLoadError> {
        let folder = FileManager.default.temporaryDirectory.appending(path: "warden-store-config-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try? FileManager.default.createDirectory(at: folder.appending(path: "policies"), withIntermediateDirectories: true)
        try? "tools:\n  get_time: {}\n".write(to: folder.appending(path: "policies/p.yaml"), atomically: true, encoding: .utf8)
        let path = folder.appending(path: "warden.yaml").path
        return Result { () throws(PolicyLoadError) in
            try GatewayConfiguration.load(Array((store + "\n" + servers).utf8), file: path, environment: environment)
        }
    }

    func postgres(_ store: String, environment: [String: String] = [:]) throws -> PostgresConfiguration {
        guard case .postgres(let configuration)? = try load(store, environment: environment).get().store else {
            throw Unexpected(description: "not a postgres store: \(store)")
        }
        return configuration
    }

    func problems(_ store: String, environment: [String: String] = [:]) -> [String] {
        guard case .failure(let error) = load(store, environment: environment) else { return [] }
        return error.problems.map(\.description)
    }

    struct Unexpected: Error, CustomStringConvertible { var description: String }

    @Test func aURL() throws {
        let configuration = try postgres(#"store: {postgres: "postgres://warden:${PGPASSWORD}@db.internal:6432/state?sslmode=require"}"#, environment: ["PGPASSWORD": "s3cret"])
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6432)
        #expect(configuration.username == "warden")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "state")
        #expect(configuration.tls == .require)
        #expect(configuration.location == "postgres://warden@db.internal:6432/state")
    }

    @Test func theParts() throws {
        let configuration = try postgres(
            """
            store:
              postgres:
                host: db.internal
                port: 5433
                user: warden
                password: ${PGPASSWORD}
                database: warden_state
                sslmode: verify-full
                ca_file: certs/ca.pem
                pool_size: 32
                connect_timeout: 3s
                query_timeout: 2
            """, environment: ["PGPASSWORD": "s3cret"])
        #expect(configuration.host == "db.internal" && configuration.port == 5433 && configuration.username == "warden")
        #expect(configuration.password == "s3cret" && configuration.database == "warden_state")
        guard case .verifyFull(let caFile?) = configuration.tls else { throw Unexpected(description: "\(configuration.tls)") }
        #expect(caFile.hasSuffix("/certs/ca.pem") && caFile.hasPrefix("/"), "relative to the configuration file: \(caFile)")
        #expect(configuration.poolSize == 32)
        #expect(configuration.connectTimeout == .seconds(3) && configuration.queryTimeout == .seconds(2))
    }

    @Test func thePartsDefaultAsLibpqDoes() throws {
        let configuration = try postgres("store: {postgres: {host: localhost, user: warden, port: \"${PGPORT}\"}}", environment: ["PGPORT": "6543"])
        #expect(configuration.database == "warden", "the user's name, as libpq")
        #expect(configuration.port == 6543)
        #expect(configuration.tls == .prefer)
        #expect(configuration.password == nil)
        #expect(configuration.poolSize == PostgresConfiguration(host: "h", username: "u", database: "d").poolSize)
        #expect(try postgres("store: {postgres: {host: h, user: u, sslmode: disable}}").tls == .disable)
        #expect(try postgres("store: {postgres: {host: h, user: u, sslmode: require}}").tls == .require)
        #expect(try postgres("store: {postgres: {host: h, user: u, sslmode: verify-ca}}").tls == .verifyFull(caFile: nil))
    }

    @Test func anUnsetVariableIsNamedAndThePasswordNeverShown() {
        let unset = problems("store: {postgres: {host: h, user: u, password: \"${WARDEN_PG_PASSWORD}\"}}")
        #expect(unset.count == 1)
        #expect(unset.first?.contains("the environment variable WARDEN_PG_PASSWORD is not set") == true, "\(unset)")
        let badURL = problems(#"store: {postgres: "postgres://warden:hunter2@db:99999/x"}"#)
        #expect(badURL.count == 1 && badURL.first?.contains("port") == true, "\(badURL)")
        #expect(!badURL.joined().contains("hunter2"))
        let badParameter = problems(#"store: {postgres: "postgres://warden:${P}@db/x?sslmode=sometimes"}"#, environment: ["P": "hunter2"])
        #expect(badParameter.count == 1 && badParameter.first?.contains("sslmode") == true, "\(badParameter)")
        #expect(!badParameter.joined().contains("hunter2"))
        let wrongType = problems("store: {postgres: {host: h, user: u, password: 12345678}}")
        #expect(wrongType.count == 1 && !wrongType.joined().contains("12345678"), "\(wrongType)")
    }

    @Test func unknownKeysAndBadValuesAreProblems() {
        let misspelt = problems("store: {postgres: {host: h, user: u, pasword: x}}")
        #expect(misspelt.count == 1 && misspelt.first?.contains("unknown key \"pasword\"") == true, "\(misspelt)")
        #expect(problems("store: {postgres: {host: h}}").first?.contains("missing required key \"user\"") == true)
        #expect(problems("store: {postgres: {host: h, user: u, sslmode: sometimes}}").first?.contains("unknown value \"sometimes\"") == true)
        #expect(problems("store: {postgres: {host: h, user: u, port: 0}}").count == 1)
        #expect(problems("store: {postgres: {host: h, user: u, port: \"${P}\"}}", environment: ["P": "x"]).count == 1)
        #expect(problems("store: {postgres: {host: h, user: u, pool_size: 0}}").count == 1)
        #expect(problems("store: {postgres: {host: h, user: u, query_timeout: soon}}").count == 1)
        #expect(problems("store: {postgres: {host: h, user: u, ca_file: ca.pem}}").first?.contains("ca_file needs sslmode") == true)
        #expect(problems("store: {sqlite: a.db, postgres: \"postgres://u@h/d\"}").first?.contains("not both") == true)
        #expect(problems("store: {}").first?.contains("name the store's backend") == true)
        #expect(problems("store: {postgres: [a]}").count == 1)
    }
}
