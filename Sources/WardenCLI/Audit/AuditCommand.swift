import ArgumentParser
import Foundation
import WardenJSON
import WardenStore

/// `warden audit`: read and verify the audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read, export and verify the tamper-evident audit log.",
        subcommands: [Tail.self, Query.self, Export.self, Verify.self, Recover.self]
    )

    /// How entries are printed.
    enum EntryFormat: String, ExpressibleByArgument, CaseIterable {
        case table
        case json
    }

    /// One entry as a JSON object: sequence, hash, then the record's fields.
    static func json(_ entry: AuditLog.Entry) -> String {
        JSONWriter.write(entry.json)
    }

    static let tableHeader = ["SEQ", "TIME", "IDENTITY", "TOOL", "DECISION", "RULE", "UPSTREAM", "MS"]

    /// One entry as a table row.
    static func row(_ entry: AuditLog.Entry) -> [String] {
        let record = entry.record
        return [
            String(entry.sequence), record.time.formatted(.iso8601), record.identity, record.tool ?? record.method,
            record.decision, record.rule ?? "", record.upstreamStatus ?? "",
            record.latencyMilliseconds.map { String(format: "%.1f", $0) } ?? "",
        ]
    }

    /// Prints entries in `format`; a table gets a header and aligned columns.
    static func print(_ entries: [AuditLog.Entry], format: EntryFormat, header: Bool = true) {
        switch format {
        case .json:
            entries.forEach { Swift.print(json($0)) }
        case .table:
            printTable((header ? [tableHeader] : []) + entries.map(row))
        }
    }

    /// `1h`, `30m`, `2d`, `45s` ago, or an ISO 8601 time.
    static func parseSince(_ text: String, now: Date = Date()) throws -> Date {
        if let date = AuditLog.Filter.since(text, now: now) { return date }
        throw ValidationError("--since takes a duration like 30m, 1h, 2d, or an ISO 8601 time; got \"\(text)\".")
    }
}

extension AuditCommand {
    /// `warden audit tail`
    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the newest audit entries, and with --follow, new ones as they come.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "How many of the newest entries to show first.")
        var limit: Int = 20

        @Flag(help: "Keep running and print new entries as they are written.")
        var follow = false

        @Option(help: "Output format: table or json (one object per line).")
        var format: EntryFormat = .table

        func run() async throws {
            let log = try await database.openExisting().audit
            var entries = try await log.entries(.init(limit: max(0, limit)))
            AuditCommand.print(entries, format: format)
            guard follow else { return }
            var last = entries.last?.sequence ?? 0
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(250))
                entries = try await log.entries(.init(afterSequence: last))
                if !entries.isEmpty {
                    AuditCommand.print(entries, format: format, header: false)
                    last = entries.last?.sequence ?? last
                    fflush(nil)
                }
            }
        }
    }

    /// `warden audit query`
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find audit entries by tool, decision, identity and time.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Only calls of this tool.")
        var tool: String?

        @Option(help: "Only this decision: allow, deny, hidden, unknown_tool, invalid, shadow_deny, ...")
        var decision: String?

        @Option(help: "Only calls by this identity.")
        var identity: String?

        @Option(help: "Only entries since then: 30m, 1h, 2d, or an ISO 8601 time.")
        var since: String?

        @Option(help: "At most this many (the newest).")
        var limit: Int = 100

        @Option(help: "Output format: table or json (one object per line).")
        var format: EntryFormat = .table

        func validate() throws {
            if let since { _ = try AuditCommand.parseSince(since) }
        }

        func run() async throws {
            let filter = AuditLog.Filter(
                tool: tool, decision: decision, identity: identity, since: try since.map { try AuditCommand.parseSince($0) },
                limit: max(0, limit))
            AuditCommand.print(try await database.openExisting().audit.entries(filter), format: format)
        }
    }

    /// `warden audit export`
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the whole audit log as JSON lines, oldest first.")

        /// The only export format.
        enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case jsonl }

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Output format: jsonl.")
        var format: ExportFormat = .jsonl

        func run() async throws {
            try await database.openExistingWhole().audit.entries().forEach { Swift.print(AuditCommand.json($0)) }
        }
    }

    /// `warden audit verify`
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit log's hash chain, its stored columns and its checkpoints.",
            discussion: """
                Exits 0 when every entry fits the chain, 1 naming the first entry that was edited, \
                deleted or reordered, whose stored columns (time, tool, decision, identity) differ \
                from its hashed record, or that a checkpoint shows missing (entries removed from the \
                end) or different (the log rewritten). Checkpoints: the head file Warden writes beside \
                the database (DB.audit-head.json) is checked whenever it is there; --checkpoint adds \
                copies kept elsewhere. Entries written after the newest checkpoint can still be \
                removed unnoticed; see docs/audit.md for what verify proves and what it cannot.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(
            name: .customLong("checkpoint"),
            help: ArgumentHelp(
                "Also check against this copy of a checkpoint: a head file, or Warden's log with its `audit checkpoint` lines "
                    + "(the last counts). Repeatable.",
                valueName: "file"))
        var checkpoints: [String] = []

        @Option(
            help: ArgumentHelp(
                "The key the checkpoints were signed with (warden run/serve --audit-checkpoint-key): each must carry a valid signature.",
                valueName: "file"))
        var checkpointKey: String?

        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try await database.openExistingWhole()
            let key: AuditCheckpointKey?
            do {
                key = try checkpointKey.map { path throws(AuditCheckpointError) in try AuditCheckpointKey(contentsOfFile: path) }
            } catch {
                throw failure(error.description)
            }
            // Checkpoints are read before the log: entries written meanwhile only add to it.
            var found: [AuditCheckpoint] = []
            var untrusted: [String] = []
            let beside = store.audit.checkpointPath
            if let beside, FileManager.default.fileExists(atPath: beside) {
                do {
                    found.append(try AuditCheckpoint.read(from: beside))
                } catch {
                    untrusted.append("the head file beside the database is unusable: \(error.description)")
                }
            }
            for path in checkpoints {
                do {
                    found.append(try AuditCheckpoint.read(from: path))
                } catch {
                    throw failure(error.description)
                }
            }
            if let key, let checkpointKey {
                for checkpoint in found where !checkpoint.isSigned(by: key) {
                    untrusted.append("\(checkpoint.described) is not signed with the key in \(checkpointKey)")
                }
                found.removeAll { !$0.isSigned(by: key) }
                if found.isEmpty && untrusted.isEmpty {
                    untrusted.append("no checkpoint to check with the key: \(beside ?? "the store's head file") is missing and no --checkpoint was given")
                }
            }
            let result = try await store.audit.verify(against: found)
            let intact = result.isIntact && untrusted.isEmpty
            switch output.format {
            case .text:
                if let broken = result.firstBroken {
                    Swift.print("audit log BROKEN at entry \(broken.sequence): \(broken.reason) (\(result.checked) entries checked)")
                } else {
                    Swift.print("audit log intact: \(result.checked) entries verified")
                    for checkpoint in found {
                        let signed = checkpoint.signature == nil ? "unsigned" : key == nil ? "signature not checked" : "signature valid"
                        Swift.print("entry \(checkpoint.sequence) matches \(checkpoint.described) (\(signed))")
                    }
                    if found.isEmpty && untrusted.isEmpty {
                        Swift.print("no checkpoint at \(beside ?? "the store"): entries removed from the end of the log cannot be detected")
                    }
                }
                untrusted.forEach { Swift.print("checkpoint NOT TRUSTED: \($0)") }
            case .json:
                var report: [JSONObject.Member] = [
                    .init(key: "intact", value: .bool(intact)),
                    .init(key: "checked", value: .number(JSONNumber(result.checked))),
                    .init(
                        key: "head",
                        value: ["seq": .number(JSONNumber(uncheckedText: String(result.head.sequence))), "hash": .string(result.head.hash)]),
                ]
                if let broken = result.firstBroken {
                    report.append(.init(key: "first_broken", value: .number(JSONNumber(Int(broken.sequence)))))
                    report.append(.init(key: "reason", value: .string(broken.reason)))
                    if let column = broken.column { report.append(.init(key: "column", value: .string(column))) }
                }
                report.append(.init(key: "checkpoints", value: .array(found.map { checkpoint in
                    let members: [JSONObject.Member] = [
                        .init(key: "source", value: .string(checkpoint.source ?? "")),
                        .init(key: "seq", value: .number(JSONNumber(uncheckedText: String(checkpoint.sequence)))),
                        .init(key: "hash", value: .string(checkpoint.hash)),
                        .init(key: "time", value: .string(checkpoint.time)),
                        .init(key: "signed", value: .bool(checkpoint.signature != nil)),
                        .init(key: "signature_checked", value: .bool(key != nil)),
                    ]
                    return .object(JSONObject(members))
                })))
                if !untrusted.isEmpty { report.append(.init(key: "checkpoint_problems", value: .array(untrusted.map(JSONValue.string)))) }
                Swift.print(JSONWriter.write(.object(JSONObject(report))))
            }
            if !intact { throw ExitCode(1) }
        }
    }
}
