import WardenJSON

extension AuditLog {
    /// Walks a log's rows in order, as ``AuditStore/verify(against:)`` does for every store,
    /// and finds the first entry that does not fit: one edited, deleted or reordered (its hash
    /// or link is wrong), one whose stored columns (``copiedColumns``) disagree with its
    /// hashed record, and then, against each checkpoint, a chain that ends before the
    /// checkpoint's entry (a cut tail) or holds another hash there (a rewritten log).
    ///
    /// ```swift
    /// var verifier = AuditLog.Verifier(checkpoints: checkpoints)
    /// for row in rows { if let broken = verifier.check(row) { return broken } }
    /// return verifier.finish()
    /// ```
    public struct Verifier: Sendable {
        private let checkpoints: [AuditCheckpoint]
        private let recorded: [Int64: AuditCheckpoint]
        private var checked = 0
        private var previousHash = AuditLog.genesisHash
        private var expectedSequence: Int64 = 1

        /// A walk that also checks against `checkpoints`, read before the log (which only
        /// grows meanwhile, never shrinks).
        public init(checkpoints: [AuditCheckpoint]) {
            self.checkpoints = checkpoints.sorted { $0.sequence < $1.sequence }
            self.recorded = Dictionary(checkpoints.map { ($0.sequence, $0) }, uniquingKeysWith: { first, _ in first })
        }

        /// Checks the next row; the verification that names it when it does not fit, else `nil`.
        public mutating func check(_ row: Row) -> Verification? {
            checked += 1
            if row.sequence != expectedSequence {
                return broken(row.sequence, "entry \(expectedSequence) is missing")
            }
            if row.previousHash != previousHash {
                return broken(row.sequence, "its previous hash does not match the entry before it")
            }
            if AuditLog.hash(sequence: row.sequence, recordText: row.recordText, previousHash: previousHash) != row.hash {
                return broken(row.sequence, "its content does not match its hash")
            }
            guard let record = try? JSONReader.parse(row.recordText), case .object = record else {
                return broken(row.sequence, "its record is not a JSON object")
            }
            for column in AuditLog.copiedColumns {
                let stored = row.column(column)
                let hashed = record[column]?.stringValue
                if stored != hashed {
                    return broken(
                        row.sequence, "its \(column) column says \(Self.quoted(stored)) but its hashed record says \(Self.quoted(hashed))",
                        column: column)
                }
            }
            if let checkpoint = recorded[row.sequence], checkpoint.hash != row.hash {
                return broken(
                    row.sequence, "its hash differs from the one \(checkpoint.described) recorded for it: the log was rewritten up to here",
                    checkpoint: checkpoint)
            }
            previousHash = row.hash
            expectedSequence += 1
            return nil
        }

        /// The verification once every row fitted: intact, unless a checkpoint records an
        /// entry past the end.
        public func finish() -> Verification {
            let last = expectedSequence - 1
            if let beyond = checkpoints.last, beyond.sequence > last {
                let removed = beyond.sequence == last + 1 ? "entry \(beyond.sequence) was" : "entries \(last + 1)–\(beyond.sequence) were"
                return broken(
                    last + 1, "the log ends at entry \(last), but \(beyond.described) recorded entry \(beyond.sequence): \(removed) removed",
                    checkpoint: beyond)
            }
            return Verification(checked: checked, firstBroken: nil, head: Head(sequence: last, hash: previousHash))
        }

        private func broken(_ sequence: Int64, _ reason: String, column: String? = nil, checkpoint: AuditCheckpoint? = nil) -> Verification {
            Verification(
                checked: checked, firstBroken: Problem(sequence: sequence, reason: reason, column: column, checkpoint: checkpoint),
                head: Head(sequence: expectedSequence - 1, hash: previousHash))
        }

        private static func quoted(_ text: String?) -> String {
            text.map { JSONWriter.write(.string($0)) } ?? "nothing"
        }
    }
}
