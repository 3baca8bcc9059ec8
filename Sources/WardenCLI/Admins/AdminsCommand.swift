import ArgumentParser
import Foundation
import WardenJSON
import WardenStore

/// `warden admins`: the tokens of the admin API and dashboard of `warden serve`.
struct AdminsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admins",
        abstract: "Create, list and revoke admin tokens for the dashboard (/admin) and the admin API (/admin/api).",
        discussion: """
            Roles: viewer (reads approvals, the audit log, grants, servers), approver (also approves \
            and denies held calls), admin (also revokes grants and reloads policies). A token's name is \
            the approver name recorded on its decisions. Tokens are shown once and stored hashed.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )
}

extension AdminsCommand {
    /// `warden admins create`
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin token and print it, once.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Whose token it is: the approver name policies' `approvers` lists name.")
        var name: String

        @Option(help: "viewer, approver or admin.")
        var role: String

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if name == Approval.callerApprover {
                throw ValidationError("\"\(name)\" means the caller in policies' approvers lists; choose another name.")
            }
            if AdminToken.Role(rawValue: role) == nil { throw ValidationError("--role must be viewer, approver or admin.") }
        }

        func run() async throws {
            let store = try await database.open().adminTokens
            let (token, secret) = try await GrantsCommand.attempt { try await store.create(name: name, role: AdminToken.Role(rawValue: role)!) }
            switch output.format {
            case .text:
                print("admin token \(token.id) for \(token.name) (\(token.role.rawValue))")
                print("token: \(secret)")
                print("This token is shown once; store it now. Warden keeps only its hash.")
            case .json:
                print(JSONWriter.write(["id": .string(token.id), "token": .string(secret), "name": .string(token.name), "role": .string(token.role.rawValue)]))
            }
        }
    }

    /// `warden admins list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List admin tokens (never the tokens themselves).")

        @OptionGroup var database: DatabaseOptions

        @Flag(help: "Include revoked tokens.")
        var all = false

        @Option(help: "Output format: text or json (one object per line).")
        var format: OutputFormat = .text

        func run() async throws {
            let tokens = try await database.openExisting().adminTokens.list(includingRevoked: all)
            switch format {
            case .json:
                for token in tokens {
                    let row: JSONValue = [
                        "id": .string(token.id), "name": .string(token.name), "role": .string(token.role.rawValue),
                        "created_at": .string(token.createdAt.formatted(.iso8601)), "revoked": .bool(token.revokedAt != nil),
                    ]
                    print(JSONWriter.write(row))
                }
            case .text:
                printTable([["ID", "NAME", "ROLE", "CREATED", "STATUS"]] + tokens.map { token in
                    [token.id, token.name, token.role.rawValue, token.createdAt.formatted(.iso8601), token.revokedAt == nil ? "active" : "revoked"]
                })
            }
        }
    }

    /// `warden admins revoke`
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an admin token; it stops working at once.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The token's id, e.g. t_4f2k9q7m.")
        var id: String

        func run() async throws {
            let store = try await database.openExisting().adminTokens
            try await GrantsCommand.attempt { try await store.revoke(id: id) }
            print("admin token \(id) revoked")
        }
    }
}
