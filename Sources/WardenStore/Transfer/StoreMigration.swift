import Foundation

/// Copies a store's state into an empty one, verbatim (see ``StoreTransfer``), then checks
/// the copy: the destination's audit chain must verify, against the source's checkpoints
/// too, and end at the source's head. `warden store migrate` runs it.
///
/// Grants, admin tokens and approvals go in one transaction; the audit log in batches of
/// ``batchSize`` entries, one transaction each, so a failure midway leaves a destination
/// holding exactly what ``StoreMigrationError/copied`` says.
///
/// ```swift
/// let summary = try await StoreMigration(from: sqlite, to: postgres).run { progress in
///     print("\(progress.auditEntriesCopied)/\(progress.auditEntriesTotal)")
/// }
/// ```
public struct StoreMigration: Sendable {
    /// Where the state comes from; it is only read.
    public var source: any TransferableStore
    /// Where it goes: a store that holds nothing yet.
    public var destination: any TransferableStore
    /// Audit entries per transaction. The default is 1,000.
    public var batchSize = 1_000
    /// Signs the checkpoint written beside a destination that keeps one (SQLite's head file).
    /// The default is none: unsigned.
    public var checkpointKey: AuditCheckpointKey?

    public init(from source: any TransferableStore, to destination: any TransferableStore) {
        self.source = source
        self.destination = destination
    }

    /// How far the audit copy is, after each batch.
    public struct Progress: Sendable, Equatable {
        /// Entries copied so far.
        public var auditEntriesCopied: Int
        /// Entries the source held when the copy began (more may come if a gateway still writes).
        public var auditEntriesTotal: Int
    }

    /// What was copied and what the check found.
    public struct Summary: Sendable {
        /// What the source held when the copy began.
        public var source: StoreTransfer.Contents
        /// What was copied.
        public var copied: StoreTransfer.Contents
        /// The source's audit head at the end of the copy.
        public var sourceHead: AuditLog.Head
        /// The destination's audit log, verified against `checkpoints`.
        public var verification: AuditLog.Verification

        /// The checkpoint of the verified head written beside the destination, if it keeps one
        /// and had none yet.
        public var checkpointWritten: String?

        /// Whether the destination's chain is intact and ends where the source's does.
        public var isVerified: Bool { verification.isIntact && verification.head == sourceHead }
    }

    /// Copies everything, then verifies the destination's audit log against `checkpoints` (the
    /// source's, read before the copy) and the source's head.
    /// - Parameter progress: Told after each batch of audit entries.
    /// - Throws: ``StoreMigrationError``: the destination is not empty (nothing copied), or a
    ///   read or write failed (with what was copied until then).
    @discardableResult
    public func run(
        checkpoints: [AuditCheckpoint] = [], progress: @Sendable (Progress) -> Void = { _ in }
    ) async throws(StoreMigrationError) -> Summary {
        var copied = StoreTransfer.Contents()
        func failed(_ step: String, _ error: any Error) -> StoreMigrationError {
            StoreMigrationError(.copyFailed, "\(step) failed: \(error)", copied: copied)
        }
        let held: StoreTransfer.Contents
        let total: StoreTransfer.Contents
        do {
            held = try await destination.transferContents()
            total = try await source.transferContents()
        } catch {
            throw failed("counting what the stores hold", error)
        }
        guard held.isEmpty else {
            throw StoreMigrationError(.destinationNotEmpty, "the destination already holds \(held.description)", copied: copied)
        }
        // Intents are not copied: a call in flight in the source would be neither finished nor
        // recovered in the destination, so the source must hold none.
        let inFlight: Int
        do {
            inFlight = try await source.audit.intents?.intents(CallIntent.Selection(decidedBefore: .distantFuture)).count ?? 0
        } catch {
            throw failed("reading the source's calls in flight", error)
        }
        guard inFlight == 0 else {
            throw StoreMigrationError(
                .callsInFlight,
                "the source holds \(inFlight) call\(inFlight == 1 ? "" : "s") in flight (call intents): a gateway still uses it, "
                    + "or one stopped without recording them", copied: copied)
        }
        do {
            let records = StoreTransfer.Records(
                grants: try await source.exportGrants(), adminTokens: try await source.exportAdminTokens(),
                approvals: try await source.exportApprovals())
            try await destination.importRecords(records)
            copied = records.contents
        } catch {
            throw failed("copying grants, admin tokens and approvals", error)
        }
        var head = AuditLog.Head.empty
        while true {
            let rows: [AuditLog.Row]
            do {
                rows = try await source.exportAudit(after: head.sequence, limit: max(1, batchSize))
            } catch {
                throw failed("reading audit entries after \(head.sequence)", error)
            }
            guard let last = rows.last else { break }
            do {
                try await destination.importAudit(rows)
            } catch {
                throw failed("writing audit entries \(rows[0].sequence)–\(last.sequence)", error)
            }
            copied.auditEntries += rows.count
            head = AuditLog.Head(sequence: last.sequence, hash: last.hash)
            progress(Progress(auditEntriesCopied: copied.auditEntries, auditEntriesTotal: max(total.auditEntries, copied.auditEntries)))
        }
        var summary: Summary
        do {
            let verification = try await destination.audit.verify(against: checkpoints)
            summary = Summary(source: total, copied: copied, sourceHead: head, verification: verification)
        } catch {
            throw failed("verifying the destination's audit log", error)
        }
        summary.checkpointWritten = try writeCheckpoint(of: summary)
        return summary
    }

    /// Writes a checkpoint of the verified head beside a destination that keeps one and has
    /// none yet (one already there is left for `warden audit verify` to judge); its path.
    private func writeCheckpoint(of summary: Summary) throws(StoreMigrationError) -> String? {
        guard summary.isVerified, summary.sourceHead.sequence > 0, let path = destination.audit.checkpointPath,
            !FileManager.default.fileExists(atPath: path)
        else { return nil }
        do {
            try AuditCheckpoint.writeAtomically(AuditCheckpoint(head: summary.sourceHead, key: checkpointKey).text, to: path)
        } catch {
            throw StoreMigrationError(.copyFailed, "writing the checkpoint \(path) failed: \(error)", copied: summary.copied)
        }
        return path
    }
}

/// Why a ``StoreMigration`` stopped, and what it had copied by then.
public struct StoreMigrationError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The destination holds state already; nothing was copied.
        case destinationNotEmpty
        /// The source holds calls in flight (``CallIntent``s); nothing was copied.
        case callsInFlight
        /// Reading the source or writing the destination failed.
        case copyFailed
    }

    public var code: Code
    /// What happened, in words (no secrets: stores' errors name ids, never tokens).
    public var reason: String
    /// What the destination holds from this migration: everything before the failed step.
    public var copied: StoreTransfer.Contents

    public init(_ code: Code, _ reason: String, copied: StoreTransfer.Contents) {
        self.code = code
        self.reason = reason
        self.copied = copied
    }

    public var description: String {
        switch code {
        case .destinationNotEmpty:
            "\(reason); migrate copies into an empty store only (nothing was copied)"
        case .callsInFlight:
            "\(reason). Stop every gateway using it, record them with `warden audit recover --db SOURCE --stopped-here` "
                + "(or `--older-than`), and migrate again (nothing was copied)"
        case .copyFailed:
            copied.isEmpty
                ? "\(reason); nothing was copied"
                : "\(reason); the destination holds what was copied before: \(copied.description)"
        }
    }
}
