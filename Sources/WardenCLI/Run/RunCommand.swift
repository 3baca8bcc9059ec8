import ArgumentParser
import Foundation
import Logging
import WardenGateway
import WardenPolicy
import WardenStore

/// `warden run --policy FILE -- CMD ARGS...`
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a stdio MCP server behind the policy: the client launches warden instead of the server.",
        discussion: """
            Example, in an agent's MCP configuration:
              "command": "warden", "args": ["run", "--policy", "p.yaml", "--", "uvx", "mcp-server-time"]
            Messages are relayed on stdin/stdout; Warden's own log goes to stderr. Limits and the \
            audit log live in the SQLite database (--db). The policy is reloaded when its file \
            changes or on SIGHUP; an invalid new version keeps the old one. Exits with the \
            server's status.
            """
    )

    @Option(help: "The policy file (JSON or YAML).")
    var policy: String

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The server's name, for policies and the audit log (default: the command's name).")
    var server: String?

    @Option(help: "The client's identity name.")
    var identity: String = Identity.local.name

    @Option(name: .customLong("label"), help: "An identity label, as key=value (repeatable).")
    var labels: [String] = []

    @Option(help: "The largest message accepted from either side, in bytes.")
    var maxMessageBytes: Int = 4 * 1024 * 1024

    @Flag(help: "Keep each call's argument values in the audit log (by default only their keys and a hash).")
    var auditArguments = false

    @Option(
        name: .customLong("audit-redact"),
        help: ArgumentHelp("With --audit-arguments: an argument path whose value is replaced by [redacted] (repeatable).", valueName: "args.path"))
    var auditRedactions: [String] = []

    @OptionGroup var pinning: PinningOptions

    @OptionGroup var checkpoints: AuditCheckpointOptions

    @OptionGroup var log: LogOptions

    @Argument(parsing: .postTerminator, help: "The server command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("Give the server command after --, e.g. -- uvx mcp-server-time.") }
        _ = try LabelOption.parse(labels)
        if maxMessageBytes < 1024 { throw ValidationError("--max-message-bytes must be at least 1024.") }
        if let path = auditRedactions.first(where: { !ArgumentRedaction.isArgumentPath($0) }) {
            throw ValidationError("--audit-redact takes an argument path like args.password; got \"\(path)\".")
        }
        if !auditRedactions.isEmpty && !auditArguments { throw ValidationError("--audit-redact needs --audit-arguments.") }
        try pinning.validate()
    }

    func run() async throws {
        let logger = log.bootstrap()
        let policyFile: PolicyFile
        do {
            policyFile = try PolicyFile(path: policy, logger: logger)
        } catch let error as PolicyLoadError {
            error.problems.forEach { printError($0.description) }
            throw failure("\(policy) is not a valid policy file")
        }
        let serverName = server ?? PinningOptions.defaultServerName(command)
        let definitionGuard = try pinning.definitionGuard(server: serverName, logger: logger)
        let storeConfiguration = try database.store()
        let store = try await DatabaseOptions.open(storeConfiguration)
        let checkpointLog = AuditCheckpointLog(logger: logger)
        let audit = AuditWriter(log: store.audit, checkpoints: try checkpoints.checkpointing(log: checkpointLog)) { error in
            logger.error("audit log write failed; records are kept and retried", metadata: ["error": "\(error)"])
        }
        var sessionConfiguration = SessionPipeline.Configuration(
            serverName: serverName,
            identity: Identity(name: identity, labels: try LabelOption.parse(labels)),
            maxMessageBytes: maxMessageBytes,
            approvals: ApprovalDesk(store: store.approvals),
            auditedArguments: auditArguments ? ArgumentRedaction(paths: auditRedactions) : nil
        )
        sessionConfiguration.definitionGuard = definitionGuard
        let gateway = StdioGateway(
            configuration: sessionConfiguration,
            policy: policyFile,
            ledger: store.sessionLocalCounters(),
            audit: audit,
            logger: logger
        )
        let auditTask = Task { await audit.run() }
        let watchTask = Task { await policyFile.watch() }
        Task { [approvals = gateway.configuration.approvals] in await approvals?.closeAbandoned(logger: logger) }
        let status: Result<Int32, ExitCode>
        do {
            status = .success(try await gateway.run(command: command))
        } catch {
            status = .failure(failure("cannot start \(command.joined(separator: " ")): \(error)"))
        }
        watchTask.cancel()
        auditTask.cancel()
        await auditTask.value
        checkpointLog.finish()
        // The audit log is flushed: the store's connections can go.
        do {
            try await store.close()
        } catch {
            logger.error("closing the store failed", metadata: ["store": "\(storeConfiguration.location)", "error": "\(error)"])
        }
        throw ExitCode(try status.get())
    }
}
