/// Instructions to the model hidden in what should describe a tool: "ignore previous
/// instructions", `<IMPORTANT>` blocks, "do not tell the user", orders to call or read
/// something first, and references to the files secrets live in.
enum HiddenInstructionCheck {
    static let rules: [TextRule] = [
        TextRule(
            #"\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(of\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|preceding|other|system)\s+(instructions?|prompts?|rules|directions|messages)"#,
            .critical, "Tells the model to ignore its instructions."),
        TextRule(#"<\s*/?\s*important\s*>"#, .critical, "An <IMPORTANT> block: the classic wrapper of instructions hidden from the user."),
        TextRule(
            #"\b(do\s+not|don'?t|never)\s+(tell|inform|mention|reveal|show|alert|notify|disclose)\b[^.\n]{0,40}\b(user|human|person|anyone)"#,
            .critical, "Tells the model to keep something from the user."),
        TextRule(
            #"\bwithout\s+(telling|informing|notifying|alerting|asking|showing)\s+(the\s+)?(user|human)"#, .critical,
            "Tells the model to act behind the user's back."),
        TextRule(#"\b(the\s+)?user\s+(must|should|need)\s+(not|never)\s+(know|see|be\s+told|notice)"#, .critical, "Tells the model to keep something from the user."),
        TextRule(#"<\s*/?\s*(system|instructions?|secret|hidden|admin|critical|override)\s*>"#, .high, "A tag that frames hidden instructions to the model."),
        TextRule(
            #"\b(before|prior\s+to|after)\s+(using|calling|invoking|running)\s+(this|any|the|every|each)\s+(other\s+)?(tool|function)"#, .high,
            "Orders the model to do something around calling tools."),
        TextRule(
            #"\byou\s+(must|should|need\s+to|have\s+to|are\s+required\s+to)\s+(first\s+|always\s+)?(call|read|use|invoke|run|pass|include|send|add|fetch|open)\b"#,
            .high, "Gives the model orders."),
        TextRule(#"\b(system\s+prompt|your\s+instructions|previous\s+instructions|new\s+instructions)\b"#, .high, "Speaks of the model's instructions."),
        TextRule(
            #"(~/\.ssh|\bid_rsa\b|\bid_ed25519\b|\.aws/credentials|/etc/passwd|/etc/shadow|\bmcp\.json\b|claude_desktop_config|\.cursor/|\.env\b)"#,
            .high, "Names a file where secrets or configuration live."),
        TextRule(#"\b(override|supersede|replace)s?\s+(the\s+|all\s+|any\s+)?(previous\s+|other\s+)?(instructions|rules|behaviou?r)"#, .high, "Claims to override instructions."),
    ]

    static func check(_ text: String, location: String) -> [Finding] {
        TextRule.findings(rules, check: "hidden-instructions", in: text, location: location)
    }
}
