import ArgumentParser
import Foundation
import WardenJSON
import WardenStore

extension AuditCommand {
    /// `warden audit recover`
    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit the calls a stopped gateway left in flight, as interrupted records.",
            discussion: """
                Before forwarding a call, Warden writes its draft audit record to the store (a call \
                intent); the call's own record deletes it. A gateway killed mid-call leaves the \
                intent behind; when it starts again it appends those of its host and instance name \
                to the audit log as records with upstream_status "interrupted". This command does \
                the same for gateways that will not start again: those of an instance name \
                (--instance), or every intent older than a duration (--older-than), which should \
                be longer than any call takes, so that calls still running are not taken. \
                --dry-run lists what would be recovered. See docs/audit.md.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Recover the calls of this warden serve instance (its name, as in its session ids).")
        var instance: String?

        @Option(help: "Recover every call decided longer ago than this: 30m, 1h, 2d, or an ISO 8601 time.")
        var olderThan: String?

        @Flag(help: "Recover the calls of stopped gateways on this host (what a gateway does when it starts).")
        var stoppedHere = false

        @Flag(help: "List what would be recovered, and change nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if instance == nil && olderThan == nil && !stoppedHere {
                throw ValidationError("Say which calls to recover: --instance NAME, --older-than DURATION, or --stopped-here.")
            }
            if let olderThan { _ = try Self.cutoff(olderThan) }
        }

        /// The time `--older-than` names.
        static func cutoff(_ text: String, now: Date = Date()) throws -> Date {
            if let date = AuditLog.Filter.since(text, now: now) { return date }
            throw ValidationError("--older-than takes a duration like 30m, 1h, 2d, or an ISO 8601 time; got \"\(text)\".")
        }

        func run() async throws {
            let location = try database.store().location
            let store = try await database.openExisting()
            guard let intents = store.audit.intents else { throw failure("the store \(location) keeps no call intents") }
            let selection = CallIntent.Selection(
                stoppedOnThisHost: stoppedHere, instance: instance, decidedBefore: try olderThan.map { try Self.cutoff($0) })
            if dryRun {
                let found = try await intents.intents(selection)
                switch output.format {
                case .text:
                    guard !found.isEmpty else { return Swift.print("no call to recover") }
                    printTable([["DECIDED", "INSTANCE", "PROCESS", "IDENTITY", "TOOL", "SESSION", "REQUEST"]] + found.map(Self.row))
                case .json:
                    found.forEach { Swift.print(JSONWriter.write(Self.json($0))) }
                }
                return
            }
            let recovery = try await intents.recover(selection)
            switch output.format {
            case .text:
                if let head = recovery.head {
                    Swift.print("recovered \(recovery.recovered) interrupted call(s): audit log entries \(head.sequence - Int64(recovery.recovered) + 1)–\(head.sequence)")
                } else {
                    Swift.print("no call to recover")
                }
            case .json:
                var report: [JSONObject.Member] = [.init(key: "recovered", value: .number(JSONNumber(recovery.recovered)))]
                if let head = recovery.head {
                    report.append(.init(key: "head", value: ["seq": .number(JSONNumber(Int(head.sequence))), "hash": .string(head.hash)]))
                }
                Swift.print(JSONWriter.write(.object(JSONObject(report))))
            }
        }

        static func row(_ intent: CallIntent) -> [String] {
            let record = intent.record
            return [
                record.time.formatted(.iso8601), intent.instance ?? "-", intent.holder, record.identity, record.tool ?? "",
                record.session ?? "", record.requestID ?? "",
            ]
        }

        static func json(_ intent: CallIntent) -> JSONValue {
            var members: [JSONObject.Member] = [.init(key: "id", value: .string(intent.id))]
            if let instance = intent.instance { members.append(.init(key: "instance", value: .string(instance))) }
            members.append(.init(key: "holder", value: .string(intent.holder)))
            members.append(.init(key: "record", value: intent.record.json))
            return .object(JSONObject(members))
        }
    }
}
