import Foundation
import Testing
import WardenJSON
import WardenPolicy

@testable import WardenStore

/// The write-ahead records of calls being forwarded, on every durable backend: written with a
/// reservation or alone, deleted with their call's audit record, and recovered as interrupted
/// records when their process stopped.
@Suite struct CallIntentConformanceTests {
    static let host = ProcessInfo.processInfo.hostName
    /// This process, as a test names it (another run of it than the real one, so its intents
    /// are selectable).
    static let me = CallIntent.Origin(holder: "\(getpid())@\(host)", process: "this-run")
    /// A process on this host that is not running (no pid is this large).
    static let stopped = CallIntent.Origin(holder: "2147483646@\(host)", process: "stopped-run")
    /// A process on this host that is running (pid 1).
    static let running = CallIntent.Origin(holder: "1@\(host)", process: "running-run")
    /// A process on another host.
    static let elsewhere = CallIntent.Origin(holder: "42@elsewhere.example", process: "elsewhere-run")
    /// Someone who lists every intent (listing as a process leaves out that process's own).
    static let observer = CallIntent.Origin(holder: "7@observer.example", process: "observer-run")
    static let everything = CallIntent.Selection(decidedBefore: .distantFuture)

    static func draft(_ tool: String, at time: Date = Date(), decision: String = "allow") -> AuditRecord {
        AuditRecord(
            time: time, requestID: "7", identity: "alice", grant: "g_1", session: "127-0-0-1-8081.abc", server: "srv",
            method: "tools/call", tool: tool, decision: decision, rule: "/tools/\(tool)", message: "allowed", argumentKeys: ["a"],
            argumentsHash: Digest.canonical(["a": 1]), policyHash: "p")
    }

    static func intent(_ tool: String, by origin: CallIntent.Origin = stopped, instance: String? = nil, at time: Date = Date()) -> CallIntent {
        CallIntent(record: draft(tool, at: time), instance: instance, origin: origin)
    }

    /// Whether two intents are the same, their records compared as stored (times to the millisecond).
    static func same(_ one: CallIntent, _ other: CallIntent) -> Bool {
        one.id == other.id && one.instance == other.instance && one.holder == other.holder && one.process == other.process
            && one.recordText == other.recordText
    }

    @Test(arguments: Backend.durable) func writtenIntentsReadBackAndTheirRecordDeletesThem(_ backend: Backend) async throws {
        let store = try await backend.open()
        let intents = try #require(store.audit.intents)
        let first = Self.intent("one", instance: "127-0-0-1-8081"), second = Self.intent("two")
        try await intents.write([first])
        try await intents.write([second])
        let read = try await intents.intents(Self.everything, by: Self.observer)
        #expect(read.map(\.id).sorted() == [first.id, second.id].sorted())
        let back = try #require(read.first { $0.id == first.id })
        #expect(Self.same(back, first), "an intent reads back as written (its time to the millisecond)")

        var final = first.record
        final.upstreamStatus = "ok"
        final.intent = first.id
        try await store.audit.append([final])
        #expect(try await intents.intents(Self.everything, by: Self.observer).map(\.id) == [second.id])
        #expect(try await store.audit.entries().map(\.record.upstreamStatus) == ["ok"])
        #expect(try await store.audit.verify().isIntact)
    }

    @Test(arguments: Backend.durable) func aReservationWritesTheIntentOnlyWhenItIsMade(_ backend: Backend) async throws {
        let store = try await backend.open()
        let intents = try #require(store.audit.intents)
        let limit = reservation(max: 2)
        var written: [String] = []
        for attempt in 0..<3 {
            let pending = CallIntent.Pending(Self.intent("limited-\(attempt)"))
            let refused = try await CallIntent.$withReservation.withValue(pending) { try await store.counters.reserve([limit]) }
            #expect((refused == nil) == (attempt < 2))
            #expect(!pending.isWritten || attempt < 2, "written with the reservation, if at all, only when it is made")
            if pending.isWritten { written.append(pending.intent.id) }
        }
        let read = try await intents.intents(Self.everything, by: Self.observer)
        #expect(read.map(\.id).sorted() == written.sorted())
        #expect(try await store.counters.reserve([limit]) == limit, "reservations without an intent are as before")
    }

    @Test(arguments: Backend.durable) func concurrentReservationsWriteIntentsOnlyOfTheCallsAllowed(_ backend: Backend) async throws {
        let store = try await backend.open()
        let intents = try #require(store.audit.intents)
        let limit = reservation(max: 20)
        let outcomes = try await withThrowingTaskGroup(of: (id: String, allowed: Bool, written: Bool).self) { group in
            for call in 0..<60 {
                group.addTask {
                    let pending = CallIntent.Pending(Self.intent("call-\(call)"))
                    let refused = try await CallIntent.$withReservation.withValue(pending) { try await store.counters.reserve([limit]) }
                    return (pending.intent.id, refused == nil, pending.isWritten)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter(\.allowed).count == 20)
        #expect(outcomes.allSatisfy { !$0.written || $0.allowed }, "only an allowed call's intent is written with its reservation")
        let read = try await intents.intents(Self.everything, by: Self.observer)
        #expect(read.map(\.id).sorted() == outcomes.filter(\.written).map(\.id).sorted())
    }

    @Test(arguments: Backend.durable) func recoveryAppendsWhatStoppedProcessesLeftAsInterruptedRecords(_ backend: Backend) async throws {
        let store = try await backend.open()
        let intents = try #require(store.audit.intents)
        try await store.audit.append([Self.draft("before")])
        let earlier = Date(timeIntervalSinceNow: -60)
        let left = Self.intent("left", by: Self.stopped, at: earlier)
        let myEarlierRun = Self.intent("mine-before", by: CallIntent.Origin(holder: Self.me.holder, process: "earlier-run"))
        let mine = Self.intent("mine-now", by: Self.me)
        let alive = Self.intent("alive", by: Self.running)
        let remote = Self.intent("remote", by: Self.elsewhere, instance: "10-0-0-2-8081")
        try await intents.write([left, myEarlierRun, mine, alive, remote])

        let now = Date()
        let recovery = try await intents.recover(.leftBehind(), by: Self.me, now: now)
        #expect(recovery.recovered == 2)
        let entries = try await store.audit.entries()
        #expect(recovery.head?.sequence == 3 && recovery.head?.hash == entries.last?.hash)
        #expect(entries.map(\.record.tool) == ["before", "left", "mine-before"], "oldest decision first")
        let interrupted = entries[1].record
        #expect(entries[1].recordText == CallIntent(record: left.interruptedRecord(recoveredAt: now), instance: nil).recordText)
        #expect(interrupted.decision == "allow" && interrupted.upstreamStatus == "interrupted")
        // The stored text, not `record.json`: a time read back is the nearest double to its
        // millisecond, which written again can fall a millisecond short.
        #expect(entries[1].recordText.contains(#""time":"\#(Timestamp.text(of: left.record.time))""#), "dated when the call was decided")
        #expect(interrupted.message?.contains("interrupted: Warden (process \(Self.stopped.holder)) stopped") == true)
        #expect(try await store.audit.verify().isIntact)

        let remaining = try await intents.intents(Self.everything, by: Self.observer)
        #expect(Set(remaining.map(\.id)) == [mine.id, alive.id, remote.id])
        #expect(try await intents.recover(.leftBehind(), by: Self.me, now: now).recovered == 0, "recovering again finds nothing")

        let byInstance = try await intents.recover(.leftBehind(instance: "10-0-0-2-8081"), by: Self.me, now: now)
        #expect(byInstance.recovered == 1)
        #expect(try await store.audit.entries().last?.record.tool == "remote")
        let byAge = try await intents.recover(CallIntent.Selection(decidedBefore: .distantFuture), by: Self.me, now: now)
        #expect(byAge.recovered == 1, "the recovering process's own intents are never taken")
        #expect(try await intents.intents(Self.everything, by: Self.observer).map(\.id) == [mine.id])
        #expect(try await store.audit.verify().isIntact)
    }

    @Test(arguments: Backend.durable) func recoveryRacingFinishedCallsLosesNothingAndKeepsOneChain(_ backend: Backend) async throws {
        let store = try await backend.open()
        let intents = try #require(store.audit.intents)
        let calls = (0..<20).map { Self.intent("call-\($0)") }
        try await intents.write(calls)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in calls {
                group.addTask {
                    var final = call.record
                    final.upstreamStatus = "ok"
                    final.intent = call.id
                    try await store.audit.append([final])
                }
            }
            group.addTask { _ = try await intents.recover(.leftBehind(), by: Self.me, now: Date()) }
            try await group.waitForAll()
        }
        let entries = try await store.audit.entries()
        let finished = entries.filter { $0.record.upstreamStatus == "ok" }.compactMap(\.record.tool)
        let interrupted = entries.filter { $0.record.upstreamStatus == "interrupted" }.compactMap(\.record.tool)
        #expect(finished.sorted() == calls.compactMap(\.record.tool).sorted(), "every call's own record, once")
        #expect(Set(interrupted).count == interrupted.count, "a call is recovered at most once")
        #expect(try await intents.intents(Self.everything, by: Self.observer).isEmpty)
        #expect(try await store.audit.verify().isIntact)
    }

    @Test(arguments: Backend.durable) func concurrentCallsThroughTheAuditWriterLeaveOneRecordEachAndNoIntent(_ backend: Backend) async throws {
        let store = try await backend.open()
        let intents = try #require(store.audit.intents)
        let writer = AuditWriter(log: store.audit, checkpoints: AuditCheckpointing(isEnabled: false)) { error in
            Issue.record("the writer failed: \(error)")
        }
        let calls = (0..<64).map { Self.intent("call-\($0)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in calls {
                group.addTask {
                    try await intents.write([call])
                    var final = call.record
                    final.upstreamStatus = "ok"
                    final.intent = call.id
                    writer.record(final)
                }
            }
            group.addTask {
                for _ in 0..<8 { await writer.flush() }
            }
            try await group.waitForAll()
        }
        await writer.flush()
        let tools = try await store.audit.entries().compactMap(\.record.tool)
        #expect(tools.sorted() == calls.compactMap(\.record.tool).sorted(), "every call's record, once")
        #expect(try await intents.intents(Self.everything, by: Self.observer).isEmpty)
        #expect(try await intents.recover(Self.everything, by: Self.observer, now: Date()).recovered == 0)
        #expect(try await store.audit.verify().isIntact)
    }
}
