import Testing
import WardenJSON
import WardenMCP
import WardenStore
import WardenTesting

@testable import WardenGateway

/// Messages over the size limit are dropped, but whoever waits for them is told.
@Suite(.timeLimit(.minutes(1))) struct OversizeMessageTests {
    @Test func aClientCallOverTheLimitIsRefusedUnderItsIdAndAudited() async throws {
        let h = try PipelineHarness()
        let envelope = MessageEnvelope(length: 5_000_000, id: 4, hasMethod: true, methods: ["tools/call"], toolNames: ["echo"])
        await h.pipeline.handleClientLine(.tooLong(envelope), server: h.server)

        let answer = try await h.answer()
        #expect(answer["id"] == 4)
        #expect(answer.errorCode == JSONRPCError.invalidRequest)
        #expect(h.server.sent.isEmpty)
        let record = try #require(try await h.auditRecords().last)
        #expect(record.tool == "echo")
    }

    @Test func aServerAnswerOverTheLimitIsAnErrorForTheCallAndAudited() async throws {
        let h = try PipelineHarness()
        await h.call("echo", id: "1")
        let call = try await h.forwarded()
        h.server.pushTooLong(MessageEnvelope(length: 5_000_000, id: call["id"]))

        let answer = try await h.answer()
        #expect(answer["id"] == 1)
        #expect(answer.errorCode == JSONRPCError.internalError)
        #expect(answer.text?.hasPrefix("The server's answer was 5000000 bytes") == true)
        #expect(try await h.auditRecords().last?.upstreamStatus == "answer too large")
    }

    @Test func aServerRequestOverTheLimitIsRefusedToTheServer() async throws {
        let h = try PipelineHarness()
        h.server.pushTooLong(MessageEnvelope(length: 5_000_000, id: "s-1", hasMethod: true))

        let refusal = try JSONReader.parse(try await h.server.nextSent())
        #expect(refusal["id"] == "s-1")
        #expect(refusal.errorCode == JSONRPCError.invalidRequest)
        #expect(h.client.events.isEmpty)
    }
}

/// The test clock on its own: time moves only when the test moves it.
@Suite(.timeLimit(.minutes(1))) struct TestClockTests {
    @Test func aSleeperWakesWhenTheClockReachesItsDeadlineAndNotBefore() async throws {
        let clock = TestClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
        try await clock.waitForSleepers()
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(clock.sleeperCount == 0)
        #expect(clock.now == TestClock.Instant(offset: .seconds(5)))
    }

    @Test func aSleepPastItsDeadlineReturnsAtOnceAndACancelledOneThrows() async throws {
        let clock = TestClock()
        try await clock.sleep(until: clock.now)
        let sleeper = Task { try await clock.sleep(for: .seconds(1)) }
        try await clock.waitForSleepers()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }
}
