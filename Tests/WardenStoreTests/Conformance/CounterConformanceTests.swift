import Foundation
import Testing
import WardenPolicy

@testable import WardenStore

/// Counters, on every backend: exact under concurrency, all or nothing, given back.
@Suite struct CounterConformanceTests {
    @Test(arguments: Backend.all) func reservesUpToMaxAndRollsBack(_ backend: Backend) async throws {
        let ledger = try await backend.open().counters
        let one = reservation(max: 2)
        #expect(try await ledger.reserve([one]) == nil)
        #expect(try await ledger.reserve([one]) == nil)
        #expect(try await ledger.reserve([one]) == one)
        #expect(try await ledger.snapshot(of: [one.key])[one.key] == 2)
        try await ledger.rollBack([one])
        #expect(try await ledger.snapshot(of: [one.key])[one.key] == 1)
        #expect(try await ledger.reserve([one]) == nil)
        try await ledger.rollBack([one, one, one])
        #expect(try await ledger.snapshot(of: [one.key])[one.key] == 0, "a count never goes below zero")
    }

    @Test(arguments: Backend.all) func reservationsAreAllOrNothing(_ backend: Backend) async throws {
        let ledger = try await backend.open().counters
        let roomy = reservation("a", max: 10)
        let full = reservation("b", max: 0)
        #expect(try await ledger.reserve([roomy, full]) == full)
        #expect(try await ledger.snapshot(of: [roomy.key, full.key]) == [roomy.key: 0, full.key: 0])
        #expect(try await ledger.reserve([roomy, roomy]) == nil)
        #expect(try await ledger.snapshot(of: [roomy.key])[roomy.key] == 2, "a counter named twice counts twice")
    }

    @Test(arguments: Backend.all) func decimalAmountsStayExact(_ backend: Backend) async throws {
        let ledger = try await backend.open().counters
        let tenth = reservation(amount: CounterAmount("0.1")!, max: CounterAmount("0.3")!)
        for _ in 0..<3 { #expect(try await ledger.reserve([tenth]) == nil) }
        #expect(try await ledger.reserve([tenth]) == tenth)
        #expect(try await ledger.snapshot(of: [tenth.key])[tenth.key] == CounterAmount("0.3")!)
    }

    @Test(arguments: Backend.all) func concurrentReservationsNeverExceedTheLimit(_ backend: Backend) async throws {
        let ledger = try await backend.open().counters
        let limit = reservation(max: 50)
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { try await ledger.reserve([limit]) == nil } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == 50)
        #expect(try await ledger.snapshot(of: [limit.key])[limit.key] == 50)
    }

    @Test(arguments: Backend.all) func theEnforcerStaysExactUnderConcurrency(_ backend: Backend) async throws {
        let policy = try PolicyLoader.load(yaml: "tools:\n  t:\n    limits: [{window: day, max: 7, scope: global}]\n")
        let enforcer = PolicyEnforcer(policy: policy, ledger: try await backend.open().counters)
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 { group.addTask { try await enforcer.decide(ToolCall(tool: "t"), now: Date()).outcome == .allow } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == 7)
    }
}
