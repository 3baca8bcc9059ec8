import ArgumentParser
import Foundation
import WardenJSON
import WardenStore

extension StoreCommand {
    /// `warden store migrate --from sqlite:PATH --to postgres://…`
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy grants, admin tokens, approvals and the audit log into an empty store, and verify the copy.",
            discussion: """
                Moves a single-machine deployment to PostgreSQL (or any store to another). Copied \
                verbatim: grants with their token hashes (tokens keep working), revoked state, \
                identities and labels; admin tokens; approvals; and the audit log with its \
                sequence numbers and hashes, in batches of --batch-size entries, one transaction \
                each. Limit counters are not copied (their windows restart). The destination must \
                hold nothing yet. Stop the gateways using the source first: entries written during \
                the copy are copied only if they arrive before it ends. At the end the \
                destination's audit chain is verified, against the source's head file too when it \
                has one, and must end at the source's head; a SQLite destination gets its head file \
                (signed with --audit-checkpoint-key if given). --from and --to take what --db takes: \
                a path or sqlite:PATH (SQLite), or a postgres:// URL. Exit codes: 0 copied and \
                verified; 1 the copy does not verify, or a step failed midway (the message says \
                exactly what the destination holds); 2 usage error, a store cannot be opened, or \
                the destination is not empty (nothing copied). A PostgreSQL store's query_timeout \
                is raised to 30 minutes for this command.
                """)

        @Option(help: ArgumentHelp("The store to copy from: a path, sqlite:PATH or a postgres:// URL.", valueName: "path-or-url"))
        var from: String

        @Option(help: ArgumentHelp("The empty store to copy into: a path, sqlite:PATH or a postgres:// URL.", valueName: "path-or-url"))
        var to: String

        @Option(help: "Audit entries per transaction.")
        var batchSize: Int = 1_000

        @OptionGroup var checkpoints: AuditCheckpointOptions

        @OptionGroup var output: OutputOptions

        func validate() throws {
            let (source, destination) = (try DatabaseOptions.configuration(from, option: "--from"), try DatabaseOptions.configuration(to, option: "--to"))
            if source.location == destination.location { throw ValidationError("--from and --to name the same store (\(source.location)).") }
            if batchSize < 1 || batchSize > 100_000 { throw ValidationError("--batch-size takes 1 to 100000; got \(batchSize).") }
        }

        func run() async throws {
            let sourceConfiguration = try DatabaseOptions.configuration(from, option: "--from")
            let destinationConfiguration = try DatabaseOptions.configuration(to, option: "--to")
            let key = try checkpoints.key()
            let source = try await DatabaseOptions.openWhole(sourceConfiguration, creatingIfMissing: false)
            let destination: any StateStore
            do {
                destination = try await DatabaseOptions.openWhole(destinationConfiguration)
            } catch {
                try? await source.close()
                throw error
            }
            let outcome: Result<StoreMigration.Summary, ExitCode>
            do {
                outcome = .success(try await migrate(source: source, destination: destination, key: key))
            } catch let exit as ExitCode {
                outcome = .failure(exit)
            }
            try? await source.close()
            try? await destination.close()
            let summary = try outcome.get()
            if !summary.isVerified { throw ExitCode(1) }
        }

        /// Copies, prints progress on standard error and the summary on standard output.
        private func migrate(source: any StateStore, destination: any StateStore, key: AuditCheckpointKey?) async throws -> StoreMigration.Summary {
            let (from, to) = (try DatabaseOptions.configuration(from, option: "--from"), try DatabaseOptions.configuration(to, option: "--to"))
            guard let sourceStore = source as? any TransferableStore else { throw failure("the store at \(from.location) cannot be exported") }
            guard let destinationStore = destination as? any TransferableStore else {
                throw failure("the store at \(to.location) cannot be imported into")
            }
            // The source's head file, read before the copy: the copy must reach it, with the same hash.
            var found: [AuditCheckpoint] = []
            if let beside = source.audit.checkpointPath, FileManager.default.fileExists(atPath: beside) {
                do {
                    found.append(try AuditCheckpoint.read(from: beside))
                } catch {
                    printError("warning: the source's head file is unusable, so the copy is checked without it: \(error.description)")
                }
            }
            var migration = StoreMigration(from: sourceStore, to: destinationStore)
            migration.batchSize = batchSize
            migration.checkpointKey = key
            let summary: StoreMigration.Summary
            do {
                summary = try await migration.run(checkpoints: found) { progress in
                    printError("audit log: \(progress.auditEntriesCopied)/\(progress.auditEntriesTotal) entries copied")
                }
            } catch {
                printError("error: \(error.description)")
                throw ExitCode(error.code == .copyFailed ? 1 : 2)
            }
            report(summary, from: from, to: to, checkpoints: found)
            return summary
        }

        private func report(_ summary: StoreMigration.Summary, from: StoreConfiguration, to: StoreConfiguration, checkpoints: [AuditCheckpoint]) {
            let verification = summary.verification
            switch output.format {
            case .text:
                print("copied \(summary.copied.description) from \(from.location) to \(to.location)")
                if let broken = verification.firstBroken {
                    print("audit log BROKEN at the destination, entry \(broken.sequence): \(broken.reason) (\(verification.checked) entries checked)")
                } else if summary.isVerified {
                    print("audit log verified at the destination: \(verification.checked) entries, head \(verification.head.sequence) \(verification.head.hash)")
                    checkpoints.forEach { print("entry \($0.sequence) matches \($0.described)") }
                    if let written = summary.checkpointWritten { print("checkpoint of the head written to \(written)") }
                } else {
                    print(
                        "audit log at the destination ends at entry \(verification.head.sequence), the source's at \(summary.sourceHead.sequence): the copy is NOT complete")
                }
            case .json:
                func number(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
                func head(_ head: AuditLog.Head) -> JSONValue {
                    ["seq": .number(JSONNumber(uncheckedText: String(head.sequence))), "hash": .string(head.hash)]
                }
                let copied = summary.copied
                var members: [JSONObject.Member] = [
                    .init(key: "from", value: .string(from.location)),
                    .init(key: "to", value: .string(to.location)),
                    .init(
                        key: "copied",
                        value: .object(JSONObject([
                            .init(key: "grants", value: number(copied.grants)),
                            .init(key: "admin_tokens", value: number(copied.adminTokens)),
                            .init(key: "approvals", value: number(copied.approvals)),
                            .init(key: "audit_entries", value: number(copied.auditEntries)),
                        ]))),
                    .init(key: "verified", value: .bool(summary.isVerified)),
                    .init(key: "checked", value: number(verification.checked)),
                    .init(key: "head", value: head(verification.head)),
                    .init(key: "source_head", value: head(summary.sourceHead)),
                    .init(key: "checkpoints", value: number(checkpoints.count)),
                ]
                if let broken = verification.firstBroken {
                    members.append(.init(key: "first_broken", value: .number(JSONNumber(uncheckedText: String(broken.sequence)))))
                    members.append(.init(key: "reason", value: .string(broken.reason)))
                }
                print(JSONWriter.write(.object(JSONObject(members))))
            }
        }
    }
}
