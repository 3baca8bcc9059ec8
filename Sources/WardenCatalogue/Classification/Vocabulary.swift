/// The words a classification reads: verbs by the class they point to, the nouns of money,
/// and the field names that mean money, code, paths or URLs.
enum Vocabulary {
    /// Verbs, by class. A name's or description's word is looked up as written, then without
    /// an ending (`deletes`, `created`, `listing`).
    static let verbs: [String: ToolClass] = {
        var verbs: [String: ToolClass] = [:]
        for word in read { verbs[word] = .read }
        for word in write { verbs[word] = .write }
        for word in execute { verbs[word] = .execute }
        for word in destructive { verbs[word] = .destructive }
        for word in financial { verbs[word] = .financial }
        return verbs
    }()

    static let read: Set<String> = [
        "get", "list", "read", "search", "show", "find", "fetch", "describe", "view", "lookup", "check", "count", "inspect",
        "browse", "status", "diff", "retrieve", "download", "export", "load", "explain", "summarize", "convert", "calculate",
        "compute", "validate", "lint", "analyze", "analyse", "preview", "print", "ls", "cat", "grep", "stat", "tree", "whoami",
        "resolve", "translate", "ping", "echo", "query", "scan", "info", "lookup", "visit", "navigate", "screenshot", "snapshot",
        "crawl", "scrape", "extract", "estimate", "compare", "verify", "monitor", "watch", "test", "render", "parse", "format",
        "open", "select", "peek", "head", "tail", "glob", "recall", "inspect", "audit", "trace", "measure", "current",
    ]
    static let write: Set<String> = [
        "create", "update", "write", "set", "add", "send", "post", "put", "insert", "edit", "modify", "patch", "save", "upload",
        "commit", "push", "merge", "rename", "move", "copy", "append", "replace", "publish", "submit", "register", "assign",
        "tag", "label", "comment", "reply", "schedule", "book", "enable", "disable", "start", "stop", "restart", "apply",
        "install", "init", "initialize", "checkout", "stage", "unstage", "mark", "archive", "import", "sync", "store", "record",
        "upsert", "mkdir", "touch", "link", "invite", "share", "approve", "reject", "close", "lock", "unlock", "configure",
        "change", "fork", "clone", "deploy", "email", "message", "notify", "tweet", "click", "type", "fill", "press", "drag",
        "hover", "upgrade", "rollback", "revert", "cancel", "pause", "resume", "trigger", "generate", "make", "new", "remember",
        "persist", "increment", "decrement", "toggle", "attach", "detach", "mute", "unmute", "subscribe", "unsubscribe",
        "follow", "unfollow", "like", "react", "star", "pin", "unpin", "rebase", "cherry", "switch", "process", "place", "capture", "complete",
    ]
    static let execute: Set<String> = [
        "run", "exec", "execute", "eval", "evaluate", "shell", "command", "cmd", "bash", "sh", "script", "invoke", "spawn",
        "launch", "interpret", "terminal", "python", "javascript", "js", "sql", "repl", "powershell", "subprocess",
    ]
    static let destructive: Set<String> = [
        "delete", "remove", "drop", "destroy", "purge", "reset", "kill", "erase", "wipe", "truncate", "rm", "rmdir", "unlink",
        "revoke", "terminate", "uninstall", "clear", "prune", "nuke", "obliterate", "shred", "force",
    ]
    static let financial: Set<String> = [
        "pay", "charge", "transfer", "refund", "invoice", "purchase", "buy", "sell", "withdraw", "deposit", "payout", "bill",
        "trade", "spend", "tip", "donate", "remit",
    ]

    /// Nouns of money: with a verb that changes state (`create_payment`), the tool moves money.
    static let moneyNouns: Set<String> = [
        "payment", "payments", "invoice", "invoices", "refund", "refunds", "charge", "charges", "transfer", "transfers",
        "payout", "payouts", "transaction", "transactions", "wallet", "funds", "money", "order", "orders", "subscription",
        "checkout_session", "bill", "bills", "price", "coupon", "purchase", "purchases",
    ]

    /// Field names of money.
    static let moneyFields: Set<String> = ["amount", "currency", "price", "cost", "amount_cents", "total", "unit_amount", "value_cents", "fee", "sum"]
    /// Field names of code or commands.
    static let codeFields: Set<String> = ["command", "cmd", "script", "shell", "sql", "code", "statement", "expression", "program", "commands"]
    /// Field names of files and paths.
    static let pathFields: Set<String> = ["path", "file", "filepath", "file_path", "filename", "file_name", "directory", "dir", "folder", "paths", "files"]
    /// Field names of URLs: a way out to any host.
    static let urlFields: Set<String> = ["url", "uri", "endpoint", "webhook", "webhook_url", "href", "link", "urls", "callback", "callback_url", "host", "hostname", "domain"]

    /// The class of `word`, looked up as written, then without a plural, past or -ing ending.
    static func verbClass(_ word: String) -> (ToolClass, String)? {
        for candidate in stems(of: word) {
            if let found = verbs[candidate] { return (found, candidate) }
        }
        return nil
    }

    /// `word`, then its likely stems: `deletes` → `delete`, `pushes` → `push`, `created` →
    /// `create`, `listing` → `list`.
    static func stems(of word: String) -> [String] {
        var stems = [word]
        for (suffix, replacement) in [("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", ""), ("ing", ""), ("ing", "e")]
        where word.count > suffix.count + 2 && word.hasSuffix(suffix) {
            stems.append(String(word.dropLast(suffix.count)) + replacement)
        }
        return stems
    }

    /// The words of a name: split at `_`, `-`, `.`, `/`, spaces, and lower-to-upper case
    /// changes (`createPayment` → `create`, `payment`), lowercased.
    static func words(ofName name: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previous: Character?
        for character in name {
            if !(character.isLetter || character.isNumber) {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                if character.isUppercase, let previous, previous.isLowercase || previous.isNumber, !current.isEmpty {
                    words.append(current)
                    current = ""
                }
                current.append(character)
            }
            previous = character
        }
        if !current.isEmpty { words.append(current) }
        return words.map { $0.lowercased() }
    }

    /// The words of prose, lowercased (letters only).
    static func words(ofText text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0 == "-") }.map { String($0).trimmed(["-"]) }.filter { !$0.isEmpty }
    }
}

extension String {
    fileprivate func trimmed(_ set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
