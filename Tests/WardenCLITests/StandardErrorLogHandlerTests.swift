import Logging
import Synchronization
import Testing

@testable import WardenCLI

/// Warden's stderr log writes what swift-log's `StreamLogHandler` writes, metadata and all.
@Suite struct StandardErrorLogHandlerTests {
    /// Lines written, for either handler.
    final class Lines: TextOutputStream, Sendable {
        private let lines = Mutex<[String]>([])
        func write(_ string: String) { lines.withLock { $0.append(string) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// `line` without its leading timestamp (the two handlers may straddle a second).
    func withoutTime(_ line: String) -> Substring {
        line.drop { $0 != " " }
    }

    @Test func writesTheLinesOfStreamLogHandler() throws {
        let ours = Lines()
        let theirs = Lines()
        let provider = Logger.MetadataProvider { ["trace": "t1"] }
        var mine = Logger(label: "warden") { label in
            StandardErrorLogHandler(label: label, level: .info, metadataProvider: provider, output: { ours.write($0) })
        }
        var reference = Logger(label: "warden") { label in
            var handler = StreamLogHandler(label: label, stream: theirs, metadataProvider: provider)
            handler.logLevel = .info
            return handler
        }
        for index in [0, 1] {
            var logger = index == 0 ? mine : reference
            logger[metadataKey: "request"] = "r-7"
            logger[metadataKey: "a"] = .stringConvertible(42)
            logger.info("plain")
            logger.notice("with metadata", metadata: ["server": "git", "a": "overridden"])
            logger.debug("below the level")
            logger.error("failed")
            if index == 0 { mine = logger } else { reference = logger }
        }
        #expect(ours.all.count == 3)
        #expect(ours.all.map(withoutTime) == theirs.all.map(withoutTime))
        #expect(ours.all[1].hasSuffix(" notice warden: a=overridden request=r-7 server=git trace=t1 [WardenCLITests] with metadata\n"))
        #expect(ours.all[0].first?.isNumber == true)
    }

    @Test func formatsMetadataOnlyWhenItWritesALine() {
        final class Counting: CustomStringConvertible, Sendable {
            let reads = Atomic(0)
            var description: String {
                reads.add(1, ordering: .relaxed)
                return "id"
            }
        }
        let counting = Counting()
        var logger = Logger(label: "warden") { StandardErrorLogHandler(label: $0, level: .notice, output: { _ in }) }
        logger[metadataKey: "request"] = .stringConvertible(counting)
        logger[metadataKey: "other"] = "x"
        logger.info("not written")
        #expect(counting.reads.load(ordering: .relaxed) == 0)
        logger.notice("written")
        #expect(counting.reads.load(ordering: .relaxed) == 1)
    }
}
