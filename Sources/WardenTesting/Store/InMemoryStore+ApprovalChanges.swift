import Synchronization

extension InMemoryStore {
    /// Those listening to ``ApprovalStore/changes()``, each told the id of every approval
    /// created, decided or closed from then on (as PostgreSQL's NOTIFY does across processes).
    final class ApprovalListeners: Sendable {
        private let listeners = Mutex<(last: Int, all: [Int: AsyncStream<String>.Continuation])>((0, [:]))

        func stream() -> AsyncStream<String> {
            let (stream, continuation) = AsyncStream<String>.makeStream()
            let number = listeners.withLock { listeners in
                listeners.last += 1
                listeners.all[listeners.last] = continuation
                return listeners.last
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.listeners.withLock { $0.all.removeValue(forKey: number) }
            }
            return stream
        }

        func announce(_ ids: [String]) {
            guard !ids.isEmpty else { return }
            let all = listeners.withLock { Array($0.all.values) }
            for continuation in all {
                for id in ids { continuation.yield(id) }
            }
        }

        /// Ends every stream, as a lost connection would.
        func finishAll() {
            let all = listeners.withLock { listeners in
                defer { listeners.all = [:] }
                return Array(listeners.all.values)
            }
            all.forEach { $0.finish() }
        }
    }

    /// The changes to approvals from now on; `nil` when the store was made not to announce them.
    func approvalChanges() -> AsyncStream<String>? {
        announcesApprovals ? approvalListeners.stream() : nil
    }

    /// Tells those listening that approvals `ids` changed.
    func announce(_ ids: [String]) {
        approvalListeners.announce(ids)
    }

    /// Ends every ``ApprovalStore/changes()`` stream open now, as a lost database connection
    /// would: to test that holders fall back to polling.
    public func endApprovalChanges() {
        approvalListeners.finishAll()
    }
}
