import GRDB
import GRDBSQLite

extension Statement {
    /// Runs the statement once, its parameters bound by `bind` (handed SQLite's statement; it
    /// returns SQLite's result code). GRDB's `execute(arguments:)` boxes every value in an
    /// existential and casts it back, thousands of instructions a statement: the per-call
    /// writes (the audit insert, a count's compare-and-swap) bind their values directly.
    ///
    /// It steps the statement itself, so GRDB's per-statement bookkeeping (transaction
    /// observers, which Warden does not use; its checks that a transaction was not aborted,
    /// which a failed step reports as an error all the same) does not run for it. It leaves the
    /// statement reset and unbound.
    func execute(binding bind: (SQLiteStatement) -> CInt) throws {
        let statement = sqliteStatement
        sqlite3_reset(statement)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        var code = bind(statement)
        if code == SQLITE_OK { code = sqlite3_step(statement) }
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))), sql: sql)
        }
    }

    /// Runs the statement once with `texts` bound to its parameters, in order.
    func execute(bindingTexts texts: [String]) throws {
        try execute { statement in
            var code = SQLITE_OK
            for (index, text) in texts.enumerated() where code == SQLITE_OK {
                code = text.bindText(to: statement, at: CInt(index + 1))
            }
            return code
        }
    }
}

extension String {
    /// Binds the text to parameter `index` of `statement`, which SQLite copies from the
    /// string's own storage. (GRDB's `bind(to:at:)` makes a C string of it first: an array
    /// allocated and filled for every value bound.)
    func bindText(to statement: SQLiteStatement, at index: CInt) -> CInt {
        var text = self
        return text.withUTF8 { bytes in
            guard let start = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_text(statement, index, "", 0, sqliteTransient) }
            return start.withMemoryRebound(to: CChar.self, capacity: bytes.count) { characters in
                sqlite3_bind_text(statement, index, characters, CInt(bytes.count), sqliteTransient)
            }
        }
    }
}

/// SQLite's `SQLITE_TRANSIENT`: it copies the value before the call returns.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
