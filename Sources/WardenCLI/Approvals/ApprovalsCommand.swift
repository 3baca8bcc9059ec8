import ArgumentParser
import Foundation
import WardenGateway
import WardenJSON
import WardenStore

/// `warden approvals`: calls held for a person's decision (`require_approval`).
struct ApprovalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvals",
        abstract: "List, show, approve and deny calls held for approval.",
        discussion: """
            Works on the database of local gateways (--db, as `warden run` and `warden serve` use), \
            or on a remote `warden serve` through its admin API (--url and an admin token from \
            `warden admins create`). Exit status: 0 done, 1 refused (already decided, or you are not \
            an approver the policy names), 2 unknown id or usage error.
            """,
        subcommands: [List.self, Show.self, Approve.self, Deny.self]
    )
}

/// Where approvals are: the local database, or a remote gateway's admin API.
struct ApprovalSource: ParsableArguments {
    @OptionGroup var database: DatabaseOptions

    @Option(help: "A remote gateway's base URL (e.g. http://gateway:8940): use its admin API instead of --db.")
    var url: String?

    @Option(help: "The admin token for --url (default: $WARDEN_ADMIN_TOKEN).")
    var token: String?

    func validate() throws {
        if url != nil && token == nil && ProcessInfo.processInfo.environment["WARDEN_ADMIN_TOKEN"] == nil {
            throw ValidationError("--url needs an admin token: --token, or $WARDEN_ADMIN_TOKEN (`warden admins create` makes one).")
        }
    }

    private var client: AdminClient? {
        url.map { AdminClient(baseURL: $0, token: token ?? ProcessInfo.processInfo.environment["WARDEN_ADMIN_TOKEN"] ?? "") }
    }

    func list(status: Approval.Status?) async throws -> [Approval] {
        try await attempt {
            if let client { return try await client.approvals(status: status) }
            let store = try await database.openExisting().approvals
            try await store.closeAbandoned()
            return try await store.list(status: status)
        }
    }

    func approval(id: String) async throws -> Approval {
        try await attempt {
            if let client { return try await client.approval(id: id) }
            guard let approval = try await database.openExisting().approvals.approval(id: id) else {
                throw StoreError(.notFound, "no approval \(id)")
            }
            return approval
        }
    }

    func decide(id: String, approve: Bool, as approver: String?, reason: String?) async throws -> Approval {
        guard let name = approver ?? Self.defaultApprover() else {
            throw ValidationError("$USER is not set and this account has no name; give your approver name with --as NAME.")
        }
        if client == nil && name == Approval.callerApprover {
            throw ValidationError("\"\(name)\" means the caller in policies' approvers lists; give your approver name with --as NAME.")
        }
        return try await attempt {
            if let client { return try await client.decide(id: id, approve: approve, reason: reason) }
            return try await database.openExisting().approvals.decide(id: id, approve: approve, by: name, reason: reason)
        }
    }

    /// The approver name `--as` defaults to: `$USER`, else the name of the account running
    /// the command (as docs/approvals.md says).
    static func defaultApprover(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let user = environment["USER"], !user.isEmpty { return user }
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        let account = String(cString: name)
        return account.isEmpty ? nil : account
    }

    /// Turns failures into exit statuses: 2 for an unknown id or an unreachable or refusing
    /// gateway, 1 for a decision refused (already decided, not an approver).
    private func attempt<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let failure as StoreError {
            printError("warden: \(failure.description)\(failure.code == .notFound ? "; `warden approvals list` shows them" : "")")
            throw ExitCode(failure.code == .notFound ? 2 : 1)
        } catch let failure as AdminClient.Failure {
            printError("warden: \(failure.description)")
            throw ExitCode([403, 409].contains(failure.status) ? 1 : 2)
        }
    }
}

extension ApprovalsCommand {
    /// `warden approvals list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List approvals, newest first (pending ones by default).")

        @OptionGroup var source: ApprovalSource

        @Option(help: "Only approvals with this status: pending, approved, denied, expired, cancelled or all.")
        var status: String = "pending"

        @Option(help: "Output format: text or json (one object per line).")
        var format: OutputFormat = .text

        func validate() throws {
            if status != "all" && Approval.Status(rawValue: status) == nil {
                throw ValidationError("--status must be pending, approved, denied, expired, cancelled or all.")
            }
        }

        func run() async throws {
            let approvals = try await source.list(status: Approval.Status(rawValue: status))
            switch format {
            case .json:
                approvals.forEach { print(JSONWriter.write($0.json)) }
            case .text:
                guard !approvals.isEmpty else {
                    print(status == "all" ? "no approvals" : "no \(status) approvals")
                    return
                }
                printTable(
                    [["ID", "STATUS", "CREATED", "EXPIRES", "SERVER", "TOOL", "IDENTITY", "RULE"]]
                        + approvals.map { approval in
                            [
                                approval.id, approval.status.rawValue, approval.createdAt.formatted(.iso8601),
                                approval.expiresAt.formatted(.iso8601), approval.server, approval.tool, approval.identity, approval.rule,
                            ]
                        })
            }
        }
    }

    /// `warden approvals show`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one approval: the call, its arguments and its decision.")

        @OptionGroup var source: ApprovalSource

        @Argument(help: "The approval's id, e.g. a_4f2k9q7m.")
        var id: String

        @OptionGroup var output: OutputOptions

        func run() async throws {
            ApprovalsCommand.show(try await source.approval(id: id), format: output.format)
        }
    }

    /// `warden approvals approve`
    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a held call: it goes on to the server.")

        @OptionGroup var decision: DecisionOptions

        func run() async throws {
            try await decision.decide(approve: true)
        }
    }

    /// `warden approvals deny`
    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deny a held call: the agent gets a policy denial with your reason.")

        @OptionGroup var decision: DecisionOptions

        func run() async throws {
            try await decision.decide(approve: false)
        }
    }

    /// Prints an approval for people (`text`) or scripts (`json`).
    static func show(_ approval: Approval, format: OutputFormat) {
        switch format {
        case .json:
            Swift.print(JSONWriter.write(approval.json))
        case .text:
            var rows = [
                ["id", approval.id], ["status", approval.status.rawValue], ["server", approval.server], ["tool", approval.tool],
                ["identity", approval.identity], ["arguments", approval.arguments], ["rule", approval.rule],
                ["message", approval.message], ["created", approval.createdAt.formatted(.iso8601)],
                ["expires", approval.expiresAt.formatted(.iso8601)],
            ]
            if !approval.approvers.isEmpty { rows.append(["approvers", approval.approvers.joined(separator: ", ")]) }
            if let by = approval.decidedBy { rows.append(["decided by", by]) }
            if let reason = approval.reason { rows.append(["reason", reason]) }
            if let at = approval.decidedAt { rows.append(["decided", at.formatted(.iso8601)]) }
            printTable(rows)
        }
    }
}

/// The arguments of `approve` and `deny`.
struct DecisionOptions: ParsableArguments {
    @OptionGroup var source: ApprovalSource

    @Argument(help: "The approval's id, e.g. a_4f2k9q7m.")
    var id: String

    @Option(help: "Why; the agent sees it with a denial, and the audit log keeps it.")
    var reason: String?

    @Option(
        name: .customLong("as"),
        help: ArgumentHelp(
            "Your approver name with --db (default: $USER, else the name of your account); with --url, the admin token's name is used.",
            valueName: "name"))
    var approver: String?

    @OptionGroup var output: OutputOptions

    func decide(approve: Bool) async throws {
        let approval = try await source.decide(id: id, approve: approve, as: approver, reason: reason)
        switch output.format {
        case .json: print(JSONWriter.write(approval.json))
        case .text: print("\(approval.id) \(approval.status.rawValue) by \(approval.decidedBy ?? "-"): \(approval.tool) on \(approval.server)")
        }
    }
}
