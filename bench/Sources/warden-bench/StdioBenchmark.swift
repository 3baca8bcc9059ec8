// The stdio benchmark: the latency Warden adds to a tools/call, and its throughput.
//
// Sends the same sequence of tools/call requests, one at a time, to the echo server directly
// and through `warden run` (a policy allowing the tool with an argument schema and a rate
// limit counted in a fresh SQLite database, every decision audited), and reports round-trip
// percentiles. A third run without the limit shows what the relay alone costs.
import Foundation

/// A child process spoken to over newline-delimited stdin/stdout.
private final class LineClient {
    let process = Process()
    let input: FileHandle
    let output: FileHandle
    var buffer: [UInt8] = []

    init(_ command: [String]) throws {
        let stdin = Pipe()
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
    }

    func send(_ line: String) {
        input.write(Data((line + "\n").utf8))
    }

    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = output.availableData
            if chunk.isEmpty { return nil }
            buffer.append(contentsOf: chunk)
        }
    }

    /// initialize, initialized and tools/list, as a client starts.
    func handshake() {
        send(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#)
        _ = readLine()
        send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        send(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        _ = readLine()
    }

    func close() {
        try? input.close()
        process.waitUntilExit()
    }
}

/// Round-trip times of `calls` sequential tools/call requests through `command`.
private func measure(_ command: [String], calls: Int) throws -> (latencies: [Duration], total: Duration) {
    let client = try LineClient(command)
    client.handshake()
    var latencies: [Duration] = []
    latencies.reserveCapacity(calls)
    let clock = ContinuousClock()
    let start = clock.now
    for index in 0..<calls {
        let before = clock.now
        client.send(#"{"jsonrpc":"2.0","id":\#(index + 2),"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello","n":\#(index)}}}"#)
        guard let response = client.readLine(), response.contains(#""isError":false"#) else {
            fatalError("unexpected response to call \(index)")
        }
        latencies.append(clock.now - before)
    }
    let total = clock.now - start
    client.close()
    return (latencies, total)
}

/// Calls per second when `calls` tools/call requests are written without waiting for answers
/// (a second thread writes while this one reads).
private func pipelinedRate(_ command: [String], calls: Int) throws -> Double {
    let client = try LineClient(command)
    client.handshake()
    let clock = ContinuousClock()
    let start = clock.now
    let requests = (0..<calls).map {
        #"{"jsonrpc":"2.0","id":\#($0 + 2),"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello","n":\#($0)}}}"# + "\n"
    }.joined()
    let input = client.input
    let writer = Thread { input.write(Data(requests.utf8)) }
    writer.start()
    for index in 0..<calls {
        guard client.readLine()?.contains(#""isError":false"#) == true else { fatalError("unexpected response to call \(index)") }
    }
    let elapsed = clock.now - start
    client.close()
    return Double(calls) / (microseconds(elapsed) / 1e6)
}

private func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func runStdioBenchmark(calls: Int, warden: String?) throws {
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    let wardenPath = warden ?? me.deletingLastPathComponent().appending(path: "warden").path
    guard FileManager.default.isExecutableFile(atPath: wardenPath) else {
        FileHandle.standardError.write(Data("warden not found at \(wardenPath); build it (swift build -c release) or pass --warden PATH\n".utf8))
        exit(2)
    }
    let folder = FileManager.default.temporaryDirectory.appending(path: "warden-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    func writePolicy(_ name: String, limited: Bool) throws -> URL {
        let file = folder.appending(path: name)
        let limit = limited ? "\n    limits: [{window: day, max: 100000000, scope: session}]" : ""
        try """
            version: "1"
            default: deny
            tools:
              echo:
                args: {type: object, properties: {text: {type: string, maxLength: 100}}}\(limit)
            """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }
    let limited = try writePolicy("limited.yaml", limited: true)
    let unlimited = try writePolicy("unlimited.yaml", limited: false)
    let server = [me.path, "echo-server"]
    func throughWarden(_ policy: URL, _ database: String) -> [String] {
        [wardenPath, "run", "--policy", policy.path, "--db", folder.appending(path: database).path, "--"] + server
    }
    let direct = try measure(server, calls: calls)
    let proxied = try measure(throughWarden(limited, "limited.db"), calls: calls)
    let relayOnly = try measure(throughWarden(unlimited, "unlimited.db"), calls: calls)

    func percentile(_ values: [Duration], _ p: Double) -> Double {
        let sorted = values.sorted()
        return microseconds(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }
    print("stdio: \(calls) sequential tools/call, echo server, release build")
    print("               p50 µs    p99 µs    calls/s")
    for (name, run) in [("direct", direct), ("warden run", proxied), ("  no limits", relayOnly)] {
        let rate = Double(calls) / (microseconds(run.total) / 1e6)
        print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%9.1f %9.1f %10.0f", percentile(run.latencies, 0.5), percentile(run.latencies, 0.99), rate))
    }
    let addedP50 = percentile(proxied.latencies, 0.5) - percentile(direct.latencies, 0.5)
    let addedP99 = percentile(proxied.latencies, 0.99) - percentile(direct.latencies, 0.99)
    let ratio = microseconds(direct.total) / microseconds(proxied.total)
    print(String(format: "added by Warden: p50 %.1f µs, p99 %.1f µs; throughput %.0f%% of direct", addedP50, addedP99, ratio * 100))
    let directRate = try pipelinedRate(server, calls: calls)
    let proxiedRate = try pipelinedRate(throughWarden(limited, "pipelined.db"), calls: calls)
    print(String(format: "pipelined (requests written without waiting): direct %.0f calls/s, warden run %.0f calls/s (%.0f%%)", directRate, proxiedRate, proxiedRate / directRate * 100))
}
