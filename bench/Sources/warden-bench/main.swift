// Warden's benchmarks. Build and run them in release mode:
//   swift run -c release warden-bench decisions [iterations]
//   swift run -c release warden-bench stdio [calls] [--warden PATH]
// `echo-server` is the fast stdio MCP server the stdio benchmark puts behind Warden.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let count = arguments.dropFirst().first.flatMap(Int.init)
switch arguments.first {
case "decisions", nil:
    try await runDecisionBenchmark(iterations: count ?? 2_000_000)
case "stdio":
    let warden = arguments.firstIndex(of: "--warden").map { arguments[$0 + 1] }
    try runStdioBenchmark(calls: count ?? 20_000, warden: warden)
case "echo-server":
    runEchoServer()
default:
    FileHandle.standardError.write(Data("usage: warden-bench decisions [N] | stdio [N] [--warden PATH] | echo-server\n".utf8))
    exit(2)
}
