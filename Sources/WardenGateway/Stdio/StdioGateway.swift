public import Foundation
public import Logging
import UnixSignals
import WardenMCP
public import WardenPolicy
public import WardenStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `warden run`: one MCP session between the client on Warden's stdin and stdout and a server
/// started as a child process, policed by a ``SessionPipeline``. SIGINT and SIGTERM are passed
/// on to the server, which ends the session when it exits; SIGHUP reloads the policy.
public final class StdioGateway: Sendable {
    let pipeline: SessionPipeline
    private let output: ClientOutput
    private let outputDescriptor: Int32

    /// - Parameters:
    ///   - configuration: How the session is policed.
    ///   - policy: The policy in force.
    ///   - ledger: Where limits are counted.
    ///   - audit: Where decisions are recorded.
    ///   - logger: Warden's own log (stderr).
    ///   - clientOutput: Where messages to the client go (standard output by default).
    public init(
        configuration: SessionPipeline.Configuration,
        policy: PolicyFile,
        ledger: any CounterLedger,
        audit: AuditWriter,
        logger: Logger,
        clientOutput: Int32 = STDOUT_FILENO
    ) {
        output = ClientOutput(descriptor: clientOutput)
        outputDescriptor = clientOutput
        pipeline = SessionPipeline(
            configuration: configuration, policy: policy, ledger: ledger, audit: audit, logger: logger, client: output)
    }

    /// How the session is policed.
    public var configuration: SessionPipeline.Configuration { pipeline.configuration }

    /// Starts `command`, relays until the server exits, and returns the server's exit status.
    /// - Parameter clientInput: Where the client's messages come from (standard input by default).
    public func run(command: [String], clientInput: Int32 = STDIN_FILENO) async throws -> Int32 {
        let server = try pipeline.launch(command)
        // Trapped only now that the server runs: it would inherit an ignored signal.
        signal(SIGPIPE, SIG_IGN)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm, .sighup)
        let relayingSignals = Task { [pipeline] in
            for await received in signals {
                if received == .sighup {
                    pipeline.policy.reload()
                } else {
                    kill(server.processIdentifier, received.rawValue)
                }
            }
        }
        defer { relayingSignals.cancel() }
        // Both directions run on the event loop of the server's pipes, which also reads and
        // writes the client's: a message is read, decided and written on one thread, with no
        // hand-over.
        let client = await ClientInput.open(
            input: clientInput, output: outputDescriptor, on: server.eventLoop, maxLineLength: pipeline.configuration.maxMessageBytes)
        if let channel = client.output { output.attach(channel) }
        Task(executorPreference: server.executor) { [pipeline] in
            for await message in client.lines {
                await pipeline.handleClientLine(message.line, server: server)
            }
            // The client is gone: close the server's stdin so it can finish and exit.
            server.closeInput()
        }
        let status = await pipeline.serve(server)
        // The last answers may still wait for the client to read them, for a while.
        if await !output.drain(within: .seconds(10)) {
            pipeline.logger.warning("the client did not read its last answers within 10 s; exiting without them")
        }
        return status
    }
}
