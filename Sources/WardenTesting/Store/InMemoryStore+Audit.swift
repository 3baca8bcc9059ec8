import WardenStore

extension InMemoryStore {
    struct Audit: AuditStore {
        let store: InMemoryStore

        var checkpointPath: String? { store.auditCheckpointPath }

        @discardableResult
        func append(_ records: [AuditRecord]) async throws -> AuditLog.Head? {
            guard !records.isEmpty else { return nil }
            return try store.access(.audit) { state in
                let last = state.audit.max { $0.sequence < $1.sequence }
                let rows = AuditLog.chain(records, after: last.map { AuditLog.Head(sequence: $0.sequence, hash: $0.hash) } ?? .empty)
                state.audit += rows
                return rows.last.map { AuditLog.Head(sequence: $0.sequence, hash: $0.hash) }
            }
        }

        func entries(_ filter: AuditLog.Filter) async throws -> [AuditLog.Entry] {
            let rows = try store.access(.audit) { state in Self.ordered(state.audit).filter(filter.matches) }
            return rows.suffix(filter.limit.map { max(0, $0) } ?? rows.count).compactMap(AuditLog.Entry.init)
        }

        func verify(against checkpoints: [AuditCheckpoint]) async throws -> AuditLog.Verification {
            let rows = try store.access(.audit) { Self.ordered($0.audit) }
            var verifier = AuditLog.Verifier(checkpoints: checkpoints)
            for row in rows {
                if let broken = verifier.check(row) { return broken }
            }
            return verifier.finish()
        }

        /// The rows in the order of their sequence numbers, as a reader of the store sees them.
        private static func ordered(_ rows: [AuditLog.Row]) -> [AuditLog.Row] {
            rows.sorted { $0.sequence < $1.sequence }
        }

        func hash(of sequence: Int64) async throws -> String? {
            try store.access(.audit) { state in state.audit.first { $0.sequence == sequence }?.hash }
        }
    }
}
