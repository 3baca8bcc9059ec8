import Foundation
import Logging
import Synchronization

extension SessionPipeline {
    /// Starts the server as a child process.
    func launch(_ command: [String], environment: [String: String] = [:]) throws -> ServerProcess {
        let server = try ServerProcess(command: command, environment: environment, maxMessageBytes: configuration.maxMessageBytes)
        logger.info("server started", metadata: ["command": "\(command.joined(separator: " "))", "pid": "\(server.processIdentifier)"])
        return server
    }

    /// Relays `server`'s messages until it exits and has passed on its last ones, answers every
    /// request still waiting, and returns its exit status. The relay runs on the event loop that
    /// reads the server's pipes.
    func serve(_ server: ServerProcess) async -> Int32 {
        let relay = Task(executorPreference: server.executor) { await self.relay(from: server) }
        let status = await server.waitForExit()
        // The server's last answers are already in the pipe and take the relay a moment; but
        // a child the server left behind may hold its stdout open for ever.
        var waited = Duration.zero
        while !state.withLock({ $0.serverGone }) && waited < .milliseconds(500) {
            try? await Task.sleep(for: .milliseconds(10))
            waited += .milliseconds(10)
        }
        if state.withLock({ $0.serverGone }) {
            await relay.value
        } else {
            logger.warning("the server exited, but something it started still holds its output; not waiting for it")
            await serverEnded()
        }
        logger.info("server exited", metadata: ["status": "\(status)"])
        return status
    }
}
