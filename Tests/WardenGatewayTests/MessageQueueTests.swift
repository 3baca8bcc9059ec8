import Synchronization
import Testing
import WardenMCP

@testable import WardenGateway

/// The queue between a reader and the task that handles its messages: in order, and bounded.
@Suite struct MessageQueueTests {
    static func message(_ bytes: Int) -> LineFramer.Line {
        .message([UInt8](repeating: UInt8(ascii: "x"), count: bytes))
    }

    @Test func messagesComeOutInOrderThenTheEnd() async {
        let queue = MessageQueue()
        for size in 1...5 { queue.yield(Self.message(size)) }
        queue.finish()
        var sizes: [Int] = []
        for await message in queue {
            if case .message(let bytes) = message.line { sizes.append(bytes.count) }
        }
        #expect(sizes == [1, 2, 3, 4, 5])
    }

    @Test func theReaderIsToldToStopPastTheHighMarkAndToGoOnBelowTheLowMark() async {
        let queue = MessageQueue()
        let drained = Atomic(0)
        queue.whenDrained { drained.add(1, ordering: .relaxed) }
        let size = 256 << 10
        let fit = MessageQueue.highWaterBytes / size
        for number in 1...fit { #expect(queue.yield(Self.message(size)), "message \(number) fits") }
        #expect(!queue.yield(Self.message(size)))
        #expect(queue.isFull)
        // Taking messages out until the low mark: the reader may go on, told once.
        var left = (fit + 1) * size
        while left > MessageQueue.lowWaterBytes {
            #expect(queue.isFull && drained.load(ordering: .relaxed) == 0)
            _ = await queue.next()
            left -= size
        }
        #expect(!queue.isFull)
        #expect(drained.load(ordering: .relaxed) == 1)
        _ = await queue.next()
        #expect(drained.load(ordering: .relaxed) == 1)
        #expect(queue.yield(Self.message(size)))
    }
}
