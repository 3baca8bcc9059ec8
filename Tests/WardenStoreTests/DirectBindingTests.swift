import GRDB
import Testing

@testable import WardenStore

/// Values bound straight into SQLite's statements come back as they went in.
@Suite struct DirectBindingTests {
    @Test func textsBoundDirectlyReadBackTheSame() throws {
        let texts = ["", "plain", "héllo wörld ✓", "quote ' and \" and \\ inside", String(repeating: "x", count: 100_000)]
        let database = try DatabaseQueue()
        let read = try database.write { db -> [String] in
            try db.execute(sql: "CREATE TABLE t (n INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            let insert = try db.cachedStatement(sql: "INSERT INTO t (n, text) VALUES (?, ?)")
            for (number, text) in texts.enumerated() {
                try insert.execute(bindingTexts: [String(number), text])
            }
            return try String.fetchAll(db, sql: "SELECT text FROM t ORDER BY n")
        }
        #expect(read.count == texts.count && zip(read, texts).allSatisfy { $0 == $1 }, "a text came back changed")
    }

    @Test func aStatementSQLiteRefusesThrowsAndStaysUsable() throws {
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (text TEXT PRIMARY KEY)")
            let insert = try db.cachedStatement(sql: "INSERT INTO t (text) VALUES (?)")
            try insert.execute(bindingTexts: ["a"])
            #expect(throws: DatabaseError.self) { try insert.execute(bindingTexts: ["a"]) }
            try insert.execute(bindingTexts: ["b"])
            #expect(try String.fetchAll(db, sql: "SELECT text FROM t ORDER BY text") == ["a", "b"])
        }
    }
}
