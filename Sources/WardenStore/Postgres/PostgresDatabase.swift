import Logging
import PostgresNIO

/// The connection pool of a ``PostgresStore`` as its stores use it: every operation is bounded
/// by the configuration's query timeout and fails with a ``StoreError`` (`unavailable`) that
/// names the database, never its password.
struct PostgresDatabase: Sendable {
    let client: PostgresClient
    /// Where the database is (``PostgresConfiguration/location``).
    let location: String
    /// The bound on one operation, waiting for a connection included.
    let timeout: Duration
    let logger: Logger

    /// Runs one query and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery, _ what: String) async throws -> [PostgresRow] {
        try await bounded(what) { client in
            try await client.query(query, logger: logger).collect()
        }
    }

    /// Runs `body` in a transaction on one connection: committed when it returns, rolled back
    /// when it throws (its error is rethrown as it is).
    /// - Parameter retryingConflicts: Whether to run it again (a few times) when a unique
    ///   constraint refuses a row another transaction wrote first.
    func transaction<Result: Sendable>(
        _ what: String, retryingConflicts: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await bounded(what, retryingConflicts: retryingConflicts) { [logger] client in
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                let result: Result
                do {
                    result = try await body(connection)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                try await connection.query("COMMIT", logger: logger)
                return result
            }
        }
    }

    /// Runs `operation` within the timeout, with PostgreSQL's errors made ``StoreError``s.
    /// Deadlocks and serialization failures, which PostgreSQL resolves by aborting one
    /// transaction, are retried (a few times, within the same timeout).
    func bounded<Result: Sendable>(
        _ what: String, retryingConflicts: Bool = false, _ operation: @escaping @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = client
        let location = location
        let timeout = timeout
        do {
            return try await withDeadline(
                timeout,
                onTimeout: { StoreError(.unavailable, "PostgreSQL at \(location) did not answer within \(timeout) (\(what))") }
            ) {
                var attempt = 0
                while true {
                    attempt += 1
                    do {
                        return try await operation(client)
                    } catch where attempt < 10 && !(error is StoreError) {
                        let failure = PostgresFailure(error)
                        guard failure.isRetryable || (retryingConflicts && failure.isUniqueViolation) else { throw error }
                    }
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "PostgreSQL at \(location) failed (\(what)): \(PostgresFailure(error))")
        }
    }
}

/// What a PostgreSQL error says, safe for logs: the SQLSTATE and the server's message, or the
/// client's error code (never a query's bound values or a password).
struct PostgresFailure: CustomStringConvertible {
    var sqlState: String?
    var description: String

    init(_ error: any Error) {
        if let error = error as? PSQLError {
            sqlState = error.serverInfo?[.sqlState]
            if let message = error.serverInfo?[.message] {
                description = "\(sqlState ?? "?") \(message)"
            } else {
                description = error.code.description
            }
        } else if error is CancellationError {
            description = "cancelled"
        } else {
            description = String(describing: type(of: error))
        }
    }

    /// A deadlock or serialization failure: the transaction may simply be run again.
    var isRetryable: Bool { sqlState == "40P01" || sqlState == "40001" }

    /// A unique constraint refused a row.
    var isUniqueViolation: Bool { sqlState == "23505" }

    /// The SQLSTATE of `error`, if PostgreSQL sent one.
    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
