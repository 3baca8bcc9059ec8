import Foundation
import WardenStore

extension InMemoryStore {
    struct Audit: AuditStore {
        let store: InMemoryStore

        var checkpointPath: String? { store.auditCheckpointPath }

        var intents: (any CallIntentStore)? { store.keepsIntents ? Intents(store: store) : nil }

        @discardableResult
        func append(_ records: [AuditRecord]) async throws -> AuditLog.Head? {
            guard !records.isEmpty else { return nil }
            let finished = Set(records.compactMap(\.intent))
            return try store.access(.audit) { state in
                state.intents.removeAll { finished.contains($0.id) }
                return Self.append(records, to: &state)
            }
        }

        /// Chains `records` after the newest row; the new head.
        static func append(_ records: [AuditRecord], to state: inout State) -> AuditLog.Head? {
            let last = state.audit.max { $0.sequence < $1.sequence }
            let rows = AuditLog.chain(records, after: last.map { AuditLog.Head(sequence: $0.sequence, hash: $0.hash) } ?? .empty)
            state.audit += rows
            return rows.last.map { AuditLog.Head(sequence: $0.sequence, hash: $0.hash) }
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

    /// The intents of calls in flight, kept beside the audit log (when the store keeps them).
    struct Intents: CallIntentStore {
        let store: InMemoryStore

        func write(_ intents: [CallIntent]) async throws {
            try store.access(.intents) { $0.intents += intents }
        }

        func intents(_ selection: CallIntent.Selection, by origin: CallIntent.Origin) async throws -> [CallIntent] {
            try store.access(.intents) { state in Self.taken(selection, by: origin, from: state.intents) }
        }

        func recover(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, now: Date) async throws -> CallIntent.Recovery {
            try store.access(.intents) { state in
                let taken = Self.taken(selection, by: origin, from: state.intents)
                guard !taken.isEmpty else { return CallIntent.Recovery(recovered: 0, head: nil) }
                state.intents.removeAll { intent in taken.contains { $0.id == intent.id } }
                let head = Audit.append(taken.map { $0.interruptedRecord(recoveredAt: now) }, to: &state)
                return CallIntent.Recovery(recovered: taken.count, head: head)
            }
        }

        /// The intents `selection` takes, oldest decision first.
        private static func taken(_ selection: CallIntent.Selection, by origin: CallIntent.Origin, from intents: [CallIntent]) -> [CallIntent] {
            intents.filter { selection.matches($0, by: origin) }.sorted { ($0.record.time, $0.id) < ($1.record.time, $1.id) }
        }
    }
}
