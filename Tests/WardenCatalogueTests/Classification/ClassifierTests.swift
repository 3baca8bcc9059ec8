import Testing
import WardenCatalogue
import WardenJSON

@Suite struct ClassifierTests {
    typealias T = ToolFixtures

    /// A labelled table of realistic definitions: the class and risk a person gives each.
    static let labelled: [(ToolDefinition, ToolClass, Risk)] = [
        (T.tool("read_file", "Read the complete contents of a file.", fields: [("path", "string")]), .read, .low),
        (T.tool("write_file", "Create a new file or overwrite an existing one.", fields: [("path", "string"), ("content", "string")]), .write, .medium),
        (T.tool("delete_file", "Delete a file.", fields: [("path", "string")]), .destructive, .critical),
        (T.tool("run_command", "Run a shell command.", fields: [("command", "string")]), .execute, .high),
        (T.tool("create_payment", "Create a payment.", fields: [("amount", "number"), ("currency", "string")]), .financial, .critical),
        (T.tool("git_reset", "Unstages all staged changes", fields: [("repo_path", "string")]), .destructive, .critical),
        (T.tool("search", "Search the web.", fields: [("query", "string"), ("url", "string")]), .read, .medium),
        (T.tool("listPullRequests", "Lists pull requests of a repository."), .read, .low),
        (T.tool("send-email", "Sends an email.", fields: [("to", "string"), ("body", "string")]), .write, .medium),
        (T.tool("execute_sql", "Executes a SQL statement.", fields: [("sql", "string")]), .execute, .high),
        (T.tool("query", "Query the database.", fields: [("query", "string")].map { $0 }), .read, .low),
        (T.tool("read_query", "Execute a SELECT query on the SQLite database", fields: [("query", "string")]), .execute, .high),
        (T.tool("drop_table", "Drops a table.", fields: [("table", "string")]), .destructive, .critical),
        (T.tool("refund", "Refunds a charge.", fields: [("charge_id", "string")]), .financial, .critical),
        (T.tool("list_payments", "Lists payments.", fields: [("limit", "integer")]), .read, .low),
        (T.tool("get_balance", "Returns the account balance."), .read, .low),
        (T.tool("manage_files", "Manage files.", fields: [("path", "string")]).withEnum("action", ["create", "delete"]), .destructive, .critical),
        (T.tool("git_push", "Pushes commits to a remote.", fields: [("force", "boolean")]), .destructive, .critical),
        (T.tool("kill_process", "Stops a running process.", fields: [("pid", "integer")]), .destructive, .critical),
        (T.tool("transfer_funds", "Moves money between accounts.", fields: [("amount", "number")]), .financial, .critical),
        (T.tool("get_deleted_items", "Lists items in the trash."), .read, .low),
        (T.tool("frobnicate", nil), .other, .medium),
        (T.tool("python", "Evaluates Python code in a sandbox.", fields: [("code", "string")]), .execute, .high),
        (T.tool("fetch", "Fetches a URL from the internet.", fields: [("url", "string")], annotations: ["openWorldHint": true]), .read, .medium),
        (T.tool("purge_cache", "Clears the CDN cache."), .destructive, .critical),
        (T.tool("invoice_customer", "Bills a customer.", fields: [("customer", "string"), ("amount", "integer")]), .financial, .critical),
        (T.tool("browser_click", "Click an element on the page."), .write, .medium),
    ]

    @Test(arguments: labelled.indices)
    func classifiesALabelledTool(_ index: Int) {
        let (tool, expectedClass, expectedRisk) = Self.labelled[index]
        let verdict = Classifier.classify(tool)
        #expect(verdict.toolClass == expectedClass, "\(tool.name): \(verdict.rationale)")
        #expect(verdict.risk == expectedRisk, "\(tool.name): \(verdict.rationale)")
        #expect(!verdict.rationale.isEmpty && !verdict.rationale.contains("\n"))
        #expect((0.1...0.95).contains(verdict.confidence))
    }

    @Test func everyRealGitToolGetsTheClassAPersonWould() {
        let expected: [String: ToolClass] = [
            "git_status": .read, "git_diff_unstaged": .read, "git_diff_staged": .read, "git_diff": .read, "git_commit": .write,
            "git_add": .write, "git_reset": .destructive, "git_log": .read, "git_create_branch": .write, "git_checkout": .write,
            "git_show": .read, "git_branch": .read,
        ]
        let tools = RealServers.git
        #expect(Set(tools.map(\.name)) == Set(expected.keys))
        for tool in tools {
            let verdict = Classifier.classify(tool)
            #expect(verdict.toolClass == expected[tool.name], "\(tool.name): \(verdict.rationale)")
            #expect(verdict.findings.isEmpty, "\(tool.name): \(verdict.findings)")
        }
    }

    @Test func realTimeToolsRead() {
        for tool in RealServers.time {
            let verdict = Classifier.classify(tool)
            #expect(verdict.toolClass == .read && verdict.risk == .low, "\(tool.name): \(verdict.rationale)")
            #expect(verdict.confidence >= 0.8, "annotations and description agree with the name: \(verdict.confidence)")
        }
    }

    @Test func aLyingReadOnlyHintNeverLowersTheRisk() {
        let tool = T.tool("delete_file", "Delete a file.", fields: [("path", "string")], annotations: ["readOnlyHint": true, "destructiveHint": false])
        let verdict = Classifier.classify(tool)
        #expect(verdict.toolClass == .destructive)
        #expect(verdict.risk == .critical)
        #expect(verdict.findings.contains { $0.check == "annotation-disagreement" && $0.matched == "readOnlyHint: true" && $0.severity == .high })
        #expect(verdict.findings.contains { $0.check == "annotation-disagreement" && $0.matched == "destructiveHint: false" })
        #expect(verdict.rationale.contains("disagrees"))
    }

    @Test func aClaimRaisesTheRiskOfAnUnclearTool() {
        let destructive = Classifier.classify(T.tool("sync_state", "Synchronises state.", annotations: ["destructiveHint": true]))
        #expect(destructive.toolClass == .destructive)
        let readOnly = Classifier.classify(T.tool("frobnicate", nil, annotations: ["readOnlyHint": true]))
        #expect(readOnly.toolClass == .read)
        #expect(readOnly.confidence < 0.5, "a claim alone is weak evidence")
        let writes = Classifier.classify(T.tool("get_or_create_user", "Gets a user.", annotations: ["readOnlyHint": false]))
        #expect(writes.toolClass == .write)
        #expect(writes.findings.contains { $0.check == "annotation-disagreement" })
    }

    @Test func aFinancialToolNamesItsAmountField() {
        let verdict = Classifier.classify(T.tool("create_payment", "Create a payment.", fields: [("amount", "number"), ("currency", "string")]))
        #expect(verdict.amountField == "amount")
        let none = Classifier.classify(T.tool("refund", "Refunds a charge.", fields: [("charge_id", "string")]))
        #expect(none.amountField == nil)
    }
}

extension ToolDefinition {
    /// The definition with a string field `name` limited to `values`.
    func withEnum(_ name: String, _ values: [String]) -> ToolDefinition {
        var copy = self
        guard var schema = copy.inputSchema?.objectValue, var properties = schema["properties"]?.objectValue else { return self }
        properties.set(name, to: ["type": "string", "enum": .array(values.map(JSONValue.string))])
        schema.set("properties", to: .object(properties))
        copy.inputSchema = .object(schema)
        return copy
    }
}
