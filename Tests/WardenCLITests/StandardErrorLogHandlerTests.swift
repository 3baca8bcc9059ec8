import Foundation
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

    /// The same log calls on `logger`: handler metadata, per-call metadata overriding it, a
    /// message below the level.
    func exercise(_ logger: inout Logger) {
        logger[metadataKey: "request"] = "r-7"
        logger[metadataKey: "a"] = .stringConvertible(42)
        logger.info("plain")
        logger.notice("with metadata", metadata: ["server": "git", "a": "overridden"])
        logger.debug("below the level")
        logger.error("failed")
    }

    /// What ours and `StreamLogHandler` write for the same calls, with `label` and `provider`.
    func lines(label: String, provider: Logger.MetadataProvider?) -> (ours: [String], theirs: [String]) {
        let ours = Lines()
        let theirs = Lines()
        var mine = Logger(label: label) { label in
            StandardErrorLogHandler(label: label, level: .info, metadataProvider: provider, output: { ours.write($0) })
        }
        var reference = Logger(label: label) { label in
            var handler = StreamLogHandler(label: label, stream: theirs, metadataProvider: provider)
            handler.logLevel = .info
            return handler
        }
        exercise(&mine)
        exercise(&reference)
        return (ours.all, theirs.all)
    }

    @Test(arguments: [("warden", true), ("warden", false), ("", false)])
    func writesTheLinesOfStreamLogHandler(label: String, withProvider: Bool) throws {
        let provider = withProvider ? Logger.MetadataProvider { ["trace": "t1"] } : nil
        let (ours, theirs) = lines(label: label, provider: provider)
        try #require(ours.count == 3)
        #expect(ours.map(withoutTime) == theirs.map(withoutTime))
        let trace = withProvider ? " trace=t1" : ""
        let name = label.isEmpty ? "" : " \(label)"
        #expect(ours[1].hasSuffix(" notice\(name): a=overridden request=r-7 server=git\(trace) [WardenCLITests] with metadata\n"))
        // The time as StreamLogHandler writes it: local, to the second, with the zone's offset.
        for (mine, reference) in zip(ours, theirs) {
            let time = String(mine.prefix { $0 != " " })
            #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/) != nil, "\(time)")
            #expect(time.count == reference.prefix { $0 != " " }.count)
        }
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
