import Foundation
import Testing

@testable import WardenGateway

@Suite struct LineWriterTests {
    @Test func aPipeHasRoomUntilItIsFull() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let writer = LineWriter(descriptor: ends[1])
        defer { writer.close() }
        #expect(writer.hasRoom(for: 1024))
        // Fill the pipe (nobody reads it) to a few bytes short of its capacity.
        let capacity = Int(fcntl(ends[1], 1024 + 8))
        #expect(capacity >= 4096)
        #expect(writer.write([UInt8](repeating: UInt8(ascii: "x"), count: capacity - 11)))
        #expect(writer.hasRoom(for: 10))
        #expect(!writer.hasRoom(for: 11))
        writer.close()
        #expect(!writer.hasRoom(for: 1), "a closed writer has no room")
    }
}
