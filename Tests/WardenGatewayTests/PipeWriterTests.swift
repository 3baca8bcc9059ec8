import Foundation
import Testing

@testable import WardenGateway

@Suite struct PipeWriterTests {
    @Test func writesNeverWaitForAReaderAndArriveInOrder() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let writer = PipeWriter(descriptor: ends[1])
        // Four times what a pipe holds, with nobody reading: every write returns at once.
        let messages = (0..<1000).map { Array("{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: 250))\"}".utf8) }
        for message in messages { #expect(writer.write(message)) }
        writer.close()  // closes once everything went out
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, 65536) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        #expect(received == Array(messages.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")])
        #expect(!writer.write(Array("late".utf8)), "a closed writer takes nothing")
    }

    @Test func aBrokenPipeIsReportedNotFatal() {
        signal(SIGPIPE, SIG_IGN)
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        close(ends[0])
        let writer = PipeWriter(descriptor: ends[1])
        #expect(!writer.write(Array("nobody reads".utf8)))
        writer.close()
    }
}
