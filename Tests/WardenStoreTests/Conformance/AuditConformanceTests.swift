import Foundation
import Synchronization
import Testing
import WardenJSON

@testable import WardenStore

/// The audit log, on every backend: a chain that verifies, filters on the hashed records,
/// and every kind of tampering found.
@Suite struct AuditConformanceTests {
    func record(_ tool: String, decision: String = "allow", identity: String = "alice", at time: Date = Date()) -> AuditRecord {
        AuditRecord(
            time: time, requestID: "1", identity: identity, session: "s", server: "srv", method: "tools/call", tool: tool,
            decision: decision, rule: "/tools/\(tool)", message: "allowed", argumentKeys: ["a", "b"],
            argumentsHash: Digest.canonical(["b": 1, "a": 2]), upstreamStatus: "ok", latencyMilliseconds: 1.25, policyHash: "p")
    }

    /// A store whose log holds `count` entries, `tool_1`...
    func filled(_ backend: Backend, _ count: Int = 5) async throws -> any StateStore {
        let store = try await backend.open()
        try await store.audit.append((1...count).map { record("tool_\($0)") })
        return store
    }

    @Test(arguments: Backend.all) func appendsAndReadsBack(_ backend: Backend) async throws {
        let store = try await backend.open()
        #expect(try await store.audit.append([]) == nil)
        let head = try await store.audit.append((1...3).map { record("tool_\($0)") })
        let entries = try await store.audit.entries()
        #expect(entries.map(\.sequence) == [1, 2, 3])
        #expect(entries.map(\.record.tool) == ["tool_1", "tool_2", "tool_3"])
        #expect(entries[0].previousHash == AuditLog.genesisHash)
        #expect(entries[1].previousHash == entries[0].hash)
        #expect(entries[0].record.argumentKeys == ["a", "b"])
        #expect(entries[0].record.latencyMilliseconds == 1.25)
        #expect(head == AuditLog.Head(sequence: 3, hash: entries[2].hash))
        #expect(try await store.audit.hash(of: 2) == entries[1].hash)
        #expect(try await store.audit.hash(of: 4) == nil)
        let verified = try await store.audit.verify()
        #expect(verified.isIntact && verified.checked == 3 && verified.head == head)
    }

    @Test(arguments: Backend.all) func filtersByToolDecisionIdentityTimeAndLimit(_ backend: Backend) async throws {
        let store = try await backend.open()
        let old = Date(timeIntervalSinceNow: -7200)
        try await store.audit.append([record("a", at: old), record("b", decision: "deny"), record("a", identity: "bob"), record("c")])
        #expect(try await store.audit.entries(.init(tool: "a")).map(\.sequence) == [1, 3])
        #expect(try await store.audit.entries(.init(decision: "deny")).map(\.sequence) == [2])
        #expect(try await store.audit.entries(.init(identity: "bob")).map(\.sequence) == [3])
        #expect(try await store.audit.entries(.init(since: Date(timeIntervalSinceNow: -3600))).map(\.sequence) == [2, 3, 4])
        #expect(try await store.audit.entries(.init(limit: 2)).map(\.sequence) == [3, 4])
        #expect(try await store.audit.entries(.init(limit: 0)).isEmpty)
        #expect(try await store.audit.entries(.init(afterSequence: 3)).map(\.sequence) == [4])
        #expect(try await store.audit.entries(.init(tool: "a", limit: 1)).map(\.sequence) == [3])
    }

    @Test(arguments: Backend.all) func concurrentAppendsKeepOneLinearChain(_ backend: Backend) async throws {
        let store = try await backend.open()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in 0..<10 {
                group.addTask { try await store.audit.append((0..<10).map { record("t\(batch)-\($0)") }) }
            }
            try await group.waitForAll()
        }
        let verified = try await store.audit.verify()
        #expect(verified.isIntact && verified.checked == 100)
    }

    @Test(arguments: Backend.all) func anEditedRecordIsFound(_ backend: Backend) async throws {
        let store = try await filled(backend)
        try await backend.tamperWithAudit(store) { rows in
            rows[2].recordText = rows[2].recordText.replacingOccurrences(of: "\"allow\"", with: "\"deny\"")
        }
        let result = try await store.audit.verify()
        #expect(result.firstBroken?.sequence == 3)
        #expect(result.firstBroken?.reason == "its content does not match its hash")
        #expect(result.head.sequence == 2)
    }

    @Test(arguments: Backend.all) func aRecomputedHashIsFoundAtTheNextEntry(_ backend: Backend) async throws {
        let store = try await filled(backend)
        // A forger who rewrites entry 2 and its hash breaks the link from entry 3.
        try await backend.tamperWithAudit(store) { rows in
            rows[1].recordText = rows[1].recordText.replacingOccurrences(of: "tool_2", with: "tool_x")
            rows[1].tool = "tool_x"
            rows[1].hash = AuditLog.hash(sequence: 2, recordText: rows[1].recordText, previousHash: rows[0].hash)
        }
        #expect(try await store.audit.verify().firstBroken?.sequence == 3)
    }

    @Test(arguments: Backend.all) func aDeletedRecordIsFound(_ backend: Backend) async throws {
        let store = try await filled(backend)
        try await backend.tamperWithAudit(store) { rows in rows.remove(at: 1) }
        let result = try await store.audit.verify()
        #expect(result.firstBroken?.sequence == 3)
        #expect(result.firstBroken?.reason == "entry 2 is missing")
    }

    @Test(arguments: Backend.all) func reorderedRecordsAreFound(_ backend: Backend) async throws {
        let store = try await filled(backend)
        try await backend.tamperWithAudit(store) { rows in
            (rows[1].sequence, rows[3].sequence) = (rows[3].sequence, rows[1].sequence)
        }
        #expect(try await store.audit.verify().firstBroken?.sequence == 2)
    }

    @Test(arguments: Backend.all) func everyStoredColumnIsCheckedAgainstTheHashedRecord(_ backend: Backend) async throws {
        let edits: [(String, @Sendable (inout AuditLog.Row) -> Void)] = [
            ("decision", { $0.decision = "deny" }), ("tool", { $0.tool = "other" }), ("tool", { $0.tool = nil }),
            ("identity", { $0.identity = "bob" }), ("time", { $0.time = "2020-01-01T00:00:00.000Z" }),
        ]
        for (column, edit) in edits {
            let store = try await filled(backend, 3)
            try await backend.tamperWithAudit(store) { rows in edit(&rows[1]) }
            let result = try await store.audit.verify()
            #expect(result.firstBroken?.sequence == 2, "\(column)")
            #expect(result.firstBroken?.column == column)
            #expect(result.firstBroken?.reason.hasPrefix("its \(column) column says ") == true)
        }
    }

    @Test(arguments: Backend.all) func queriesFilterOnTheHashedRecordNotItsCopies(_ backend: Backend) async throws {
        let store = try await backend.open()
        try await store.audit.append([record("a"), record("b", decision: "deny"), record("c")])
        try await backend.tamperWithAudit(store) { rows in
            rows[1].decision = "allow"
            rows[1].tool = "a"
            rows[1].identity = "bob"
            rows[1].time = "2000-01-01T00:00:00.000Z"
        }
        #expect(try await store.audit.entries(.init(decision: "deny")).map(\.sequence) == [2])
        #expect(try await store.audit.entries(.init(decision: "allow")).map(\.sequence) == [1, 3])
        #expect(try await store.audit.entries(.init(tool: "a")).map(\.sequence) == [1])
        #expect(try await store.audit.entries(.init(identity: "bob")).map(\.sequence) == [])
        #expect(try await store.audit.entries(.init(since: Date(timeIntervalSinceNow: -60))).map(\.sequence) == [1, 3])
    }

    @Test(arguments: Backend.all) func aCutTailAndARewrittenLogContradictACheckpoint(_ backend: Backend) async throws {
        let store = try await filled(backend)
        let checkpoint = AuditCheckpoint(head: try await store.audit.verify().head)
        #expect(try await store.audit.verify(against: [checkpoint]).isIntact)
        try await backend.tamperWithAudit(store) { rows in rows.removeLast(2) }
        #expect(try await store.audit.verify().isIntact, "the chain alone still links up")
        let cut = try await store.audit.verify(against: [checkpoint])
        #expect(cut.firstBroken?.sequence == 4 && cut.firstBroken?.checkpoint != nil)
        #expect(cut.firstBroken?.reason.hasSuffix("recorded entry 5: entries 4–5 were removed") == true)
        #expect(cut.head == AuditLog.Head(sequence: 3, hash: try await store.audit.entries().last!.hash))

        // New entries written after the cut: the count fits again, the hash does not.
        try await store.audit.append([record("x"), record("y")])
        let rewritten = try await store.audit.verify(against: [checkpoint])
        #expect(rewritten.firstBroken?.sequence == 5)
        #expect(rewritten.firstBroken?.reason.hasPrefix("its hash differs from the one the checkpoint of") == true)
    }

    @Test(arguments: Backend.all) func theWriterFlushesEverythingQueuedEvenWhenCancelled(_ backend: Backend) async throws {
        let store = try await backend.open()
        let failures = Mutex(0)
        let writer = AuditWriter(log: store.audit, checkpoints: AuditCheckpointing(isEnabled: false)) { _ in failures.withLock { $0 += 1 } }
        for index in 0..<200 { writer.record(record("t\(index)")) }
        let running = Task { await writer.run(interval: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(2))
        for index in 200..<300 { writer.record(record("t\(index)")) }
        running.cancel()
        await running.value
        #expect(try await store.audit.entries(.init(limit: 1000)).count == 300)
        #expect(try await store.audit.verify().isIntact)
        #expect(failures.withLock { $0 } == 0)
    }
}
