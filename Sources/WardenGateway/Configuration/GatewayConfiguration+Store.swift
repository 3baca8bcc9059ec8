import WardenJSON
import WardenPolicy
import WardenStore

extension GatewayConfiguration {
    /// The backends `store:` may name, one at a time.
    static let storeKeys = ["sqlite", "postgres"]
    /// The parts of `store.postgres` when it is not a URL.
    static let postgresKeys = [
        "host", "port", "user", "password", "database", "sslmode", "ca_file", "pool_size", "connect_timeout", "query_timeout",
    ]

    /// libpq's `sslmode` values, as `store.postgres.sslmode` takes them.
    enum SSLMode: String, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }
}

extension GatewayConfiguration.Loader {
    /// `store:`, a mapping with one key: the backend, and where it is (`sqlite: PATH`,
    /// `postgres: URL` or `postgres: {host, user, ...}`).
    mutating func store(_ value: JSONValue, at pointer: JSONPointer) -> StoreConfiguration? {
        guard let store = decoder.object(value, at: pointer, keys: GatewayConfiguration.storeKeys) else { return nil }
        switch (store["sqlite"], store["postgres"]) {
        case (let path?, nil):
            return string(path, at: pointer.appending("sqlite")).map { .sqlite(path: resolve($0)) }
        case (nil, let postgres?):
            return self.postgres(postgres, at: pointer.appending("postgres")).map { .postgres($0) }
        case (nil, nil):
            // An unknown key is reported already.
            if store.members.isEmpty { decoder.report("name the store's backend at \(pointer): sqlite: PATH or postgres: URL", at: pointer) }
            return nil
        case (_?, _?):
            decoder.report("name one backend at \(pointer), sqlite or postgres, not both", at: pointer)
            return nil
        }
    }

    /// `store.postgres`: a URL (`postgres://user@host:5432/warden?sslmode=require`), or its parts.
    /// Problems never quote the URL or the password.
    mutating func postgres(_ value: JSONValue, at pointer: JSONPointer) -> PostgresConfiguration? {
        if case .string = value {
            guard let url = string(value, at: pointer) else { return nil }
            do {
                return try PostgresConfiguration(url: url)
            } catch let error as StoreError {
                decoder.report("\(error.description) at \(pointer)", at: pointer)
            } catch {
                decoder.report("invalid PostgreSQL URL at \(pointer)", at: pointer)
            }
            return nil
        }
        guard let parts = decoder.object(value, at: pointer, keys: GatewayConfiguration.postgresKeys, required: ["host", "user"]) else {
            return nil
        }
        func text(_ key: String) -> String? { parts[key].flatMap { string($0, at: pointer.appending(key)) } }
        guard let host = text("host"), let user = text("user") else { return nil }
        var configuration = PostgresConfiguration(host: host, username: user, password: text("password"), database: text("database") ?? user)
        if let value = parts["port"], let port = integer(value, at: pointer.appending("port"), in: 1...65535) { configuration.port = port }
        if let value = parts["pool_size"], let size = integer(value, at: pointer.appending("pool_size"), in: 1...1000) {
            configuration.poolSize = size
        }
        if let value = parts["connect_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("connect_timeout")) {
            configuration.connectTimeout = .seconds(seconds)
        }
        if let value = parts["query_timeout"], let seconds = decoder.durationSeconds(value, at: pointer.appending("query_timeout")) {
            configuration.queryTimeout = .seconds(seconds)
        }
        let caFile = text("ca_file").map(resolve)
        let mode = parts["sslmode"].flatMap { decoder.choice($0, at: pointer.appending("sslmode"), as: GatewayConfiguration.SSLMode.self) }
        switch mode ?? .prefer {
        case .disable: configuration.tls = .disable
        case .allow, .prefer: configuration.tls = .prefer
        case .require: configuration.tls = caFile.map { .verifyFull(caFile: $0) } ?? .require
        case .verifyCA, .verifyFull: configuration.tls = .verifyFull(caFile: caFile)
        }
        if caFile != nil, configuration.tls == .disable || configuration.tls == .prefer {
            decoder.report(
                "ca_file needs sslmode verify-full (or verify-ca, require) at \(pointer.appending("ca_file"))", at: pointer.appending("ca_file"))
        }
        return configuration
    }

    /// A whole number in `range`, written as a number or as a string (for `${ENV}`).
    mutating func integer(_ value: JSONValue, at pointer: JSONPointer, in range: ClosedRange<Int>) -> Int? {
        guard case .string = value else { return decoder.integer(value, at: pointer, in: range) }
        guard let text = string(value, at: pointer) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            decoder.report("expected a whole number from \(range.lowerBound) to \(range.upperBound) at \(pointer)", at: pointer)
            return nil
        }
        return number
    }
}
