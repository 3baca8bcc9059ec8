// The stdio benchmark: the latency Warden adds to a tools/call, and its throughput.
//
// Sends the same sequence of tools/call requests, one at a time, to the echo server directly
// and through `warden run` (a policy allowing the tool with an argument schema, every decision
// audited in a fresh SQLite database) with a session-scoped limit (counted in memory), a
// grant-scoped one (counted in SQLite), and none, and reports round-trip percentiles.
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
    func writePolicy(_ name: String, limitScope: String?) throws -> URL {
        let file = folder.appending(path: name)
        let limit = limitScope.map { "\n    limits: [{window: day, max: 100000000, scope: \($0)}]" } ?? ""
        try """
            version: "1"
            default: deny
            tools:
              echo:
                args: {type: object, properties: {text: {type: string, maxLength: 100}}}\(limit)
            """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }
    let server = [me.path, "echo-server"]
    func throughWarden(_ policy: URL, _ database: String) -> [String] {
        [wardenPath, "run", "--policy", policy.path, "--db", folder.appending(path: database).path, "--"] + server
    }
    let sessionLimited = try writePolicy("session.yaml", limitScope: "session")
    let variants: [(name: String, command: [String])] = [
        ("warden run, session limit (memory)", throughWarden(sessionLimited, "session.db")),
        ("warden run, grant limit (SQLite)", throughWarden(try writePolicy("grant.yaml", limitScope: "grant"), "grant.db")),
        ("warden run, no limit", throughWarden(try writePolicy("none.yaml", limitScope: nil), "none.db")),
    ]
    let direct = try measure(server, calls: calls)
    let proxied = try variants.map { try measure($0.command, calls: calls) }

    func percentile(_ values: [Duration], _ p: Double) -> Double {
        let sorted = values.sorted()
        return microseconds(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
    }
    print("stdio: \(calls) sequential tools/call, echo server, release build; every decision audited")
    print("path                                  p50 µs    p99 µs    calls/s   added p50   added p99  throughput")
    for (name, run) in [("direct", direct)] + zip(variants.map(\.name), proxied) {
        let rate = Double(calls) / (microseconds(run.total) / 1e6)
        let line = name.padding(toLength: 36, withPad: " ", startingAt: 0)
            + String(format: "%9.1f %9.1f %10.0f", percentile(run.latencies, 0.5), percentile(run.latencies, 0.99), rate)
        guard name != "direct" else { print(line); continue }
        print(line + String(format: "  %+9.1f  %+9.1f  %9.0f%%",
            percentile(run.latencies, 0.5) - percentile(direct.latencies, 0.5),
            percentile(run.latencies, 0.99) - percentile(direct.latencies, 0.99),
            microseconds(direct.total) / microseconds(run.total) * 100))
    }
    let directRate = try pipelinedRate(server, calls: calls)
    let proxiedRate = try pipelinedRate(throughWarden(sessionLimited, "pipelined.db"), calls: calls)
    print(String(format: "pipelined (requests written without waiting): direct %.0f calls/s, warden run (session limit) %.0f calls/s (%.0f%%)", directRate, proxiedRate, proxiedRate / directRate * 100))
}
