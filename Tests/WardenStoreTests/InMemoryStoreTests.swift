import Testing
import WardenPolicy
import WardenStore
import WardenTesting

/// The in-memory store's own switch: a broken part fails every operation, so callers can be
/// tested failing closed.
@Suite struct InMemoryStoreTests {
    @Test func aBrokenPartFailsUntilRepaired() async throws {
        let store = InMemoryStore()
        let one = reservation(max: 5)
        #expect(try await store.counters.reserve([one]) == nil)
        store.breakDown([.counters])
        let failure = await #expect(throws: StoreError.self) { try await store.counters.reserve([one]) }
        #expect(failure?.code == .unavailable)
        await #expect(throws: StoreError.self) { try await store.checkReadable() }
        #expect(try await store.grants.list().isEmpty, "the other parts still work")
        store.repair()
        try await store.checkReadable()
        #expect(try await store.counters.snapshot(of: [one.key])[one.key] == 1, "nothing was counted while broken")
        try await store.close()
        await #expect(throws: StoreError.self) { try await store.audit.entries() }
    }
}
