import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a SQLite store keeps the intents of calls in flight (``CallIntent``): append-only
/// files in the folder beside the database (`warden.db-intents/`), one per process and store.
/// Writing an intent is one `write(2)` of one line, on the calling thread, into the page cache:
/// no transaction, no hop to the database's writer. The line that finishes it is appended once
/// its call's audit record is committed. A file whose intents are all finished is emptied, or
/// removed once a newer file took over, so the folder holds little more than what is in flight.
///
/// As durable as the database beside it: SQLite runs WAL with `synchronous = NORMAL`, so the
/// intents and the log both outlive a killed process, and a crash of the machine may lose the
/// newest of either. Which intents are finished is decided by the audit log, not by these
/// files: a record finishing an intent carries its id (column `intent`), so a process killed
/// between committing a record and marking its intent finished is not audited twice.
///
/// Lines:
/// ```
/// warden-intents 1 <holder> <process>      the header: who writes the file
/// + <id> <instance or -> <time> <record>  an intent, its draft record as the log would hash it
/// - <id> [<id> ...]                       finished (or recovered) intents
/// ```
final class IntentJournal: Sendable {
    /// The folder.
    let folder: String
    /// Names this journal's files apart from those of another store open on the same
    /// database in the same process.
    private let name = String(CallIntent.newID().prefix(12))
    private let state = Mutex(State())

    /// A file size past which a file whose intents are all finished is emptied.
    static let emptiedAfter = 1 << 20
    /// A file size past which new intents go to a new file.
    static let replacedAfter = 8 << 20

    private struct State {
        /// The files this journal writes, by process (the newest last).
        var files: [String: [File]] = [:]
        /// How many files it has made, for their names.
        var made = 0
    }

    /// A file this journal writes.
    private struct File {
        let path: String
        let descriptor: Int32
        let headerSize: Int
        var size: Int
        /// Its intents not yet finished.
        var open: Set<String> = []
    }

    /// A journal file as read back.
    struct Contents {
        let path: String
        let holder: String
        let process: String
        /// Its intents not marked finished, oldest first.
        let unfinished: [CallIntent]
    }

    /// The journal of the database at `databasePath`.
    init(besideDatabase databasePath: String) {
        folder = databasePath + "-intents"
    }

    deinit {
        closeFiles()
    }

    // MARK: - Writing

    /// Appends `intents`; they outlive this process when it returns.
    func write(_ intents: [CallIntent]) throws {
        guard !intents.isEmpty else { return }
        let process = intents[0].process
        if intents.allSatisfy({ $0.process == process }) {
            return try write(intents, of: process, holder: intents[0].holder)
        }
        for (process, group) in Dictionary(grouping: intents, by: \.process) {
            try write(group, of: process, holder: group[0].holder)
        }
    }

    /// Appends `intents` of one process, in one `write(2)`.
    private func write(_ intents: [CallIntent], of process: String, holder: String) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024 * intents.count)  // a line is mostly 500-800 bytes
        // By index, not for-in: each element is read in place, not copied (16 strings each).
        for index in intents.indices { Self.writeLine(of: intents[index], to: &bytes) }
        try state.withLock { state in
            let file = try newest(for: process, holder: holder, in: &state)
            try Self.append(bytes, to: file.descriptor, path: file.path)
            state.files[process]!.withLast { written in
                written.size += bytes.count
                for index in intents.indices { written.open.insert(intents[index].id) }
            }
        }
    }

    /// Marks `ids` finished, in the files of this journal that hold them, and tidies those
    /// files. Ids it does not hold are ignored (the audit log decides what is finished anyway).
    func finish(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        state.withLock { state in
            for (process, files) in state.files {
                var files = files
                for index in files.indices {
                    let done = ids.filter { files[index].open.contains($0) }
                    guard !done.isEmpty else { continue }
                    let line = Self.finishedLine(done)
                    // Unwritten, the ids stay open in the file: recovery finds their records.
                    if (try? Self.append(line, to: files[index].descriptor, path: files[index].path)) != nil {
                        files[index].size += line.count
                    }
                    files[index].open.subtract(done)
                }
                state.files[process] = Self.tidied(files)
            }
        }
    }

    /// The file new intents of `process` go to (the last of its files), made when there is
    /// none or the newest is full.
    private func newest(for process: String, holder: String, in state: inout State) throws -> File {
        if let newest = state.files[process]?.last, newest.size < Self.replacedAfter { return newest }
        state.made += 1
        let path = "\(folder)/\(process)-\(name)-\(state.made).log"
        // The database's own folder exists; Foundation's createDirectory costs a million
        // instructions where mkdir(2) costs a system call.
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else { throw Self.failure("cannot create the folder of", path) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.failure("cannot create", path) }
        let header = Array("warden-intents 1 \(holder) \(process)\n".utf8)
        do {
            try Self.append(header, to: descriptor, path: path)
        } catch {
            close(descriptor)
            unlink(path)
            throw error
        }
        let file = File(path: path, descriptor: descriptor, headerSize: header.count, size: header.count)
        state.files[process, default: []].append(file)
        return file
    }

    /// `files` with the older ones whose intents are all finished removed, and the newest
    /// emptied when all of its are and it has grown.
    private static func tidied(_ files: [File]) -> [File] {
        var kept: [File] = []
        for (index, file) in files.enumerated() {
            let isNewest = index == files.count - 1
            if file.open.isEmpty && !isNewest {
                close(file.descriptor)
                unlink(file.path)
                continue
            }
            var file = file
            if file.open.isEmpty && file.size > emptiedAfter && ftruncate(file.descriptor, off_t(file.headerSize)) == 0 {
                file.size = file.headerSize
            }
            kept.append(file)
        }
        return kept
    }

    private static func writeLine(of intent: CallIntent, to bytes: inout [UInt8]) {
        let time = intent.timeText
        bytes += "+ ".utf8
        bytes += intent.id.utf8
        bytes.append(UInt8(ascii: " "))
        bytes += (intent.instance ?? "-").utf8
        bytes.append(UInt8(ascii: " "))
        bytes += time.utf8
        bytes.append(UInt8(ascii: " "))
        intent.record.writeText(time: time, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// The line marking `ids` finished.
    private static func finishedLine(_ ids: [String]) -> [UInt8] {
        Array(("- " + ids.joined(separator: " ") + "\n").utf8)
    }

    private static func append(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                #if canImport(Glibc)
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                    let written = Darwin.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write to", path)
                }
                offset += written
            }
        }
    }

    private static func failure(_ doing: String, _ path: String) -> StoreError {
        StoreError(.unavailable, "\(doing) the call intent file \(path): \(String(cString: strerror(errno)))")
    }

    // MARK: - Reading

    /// Every journal file in the folder, read back (none when there is no folder).
    func contents() throws -> [Contents] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return try names.filter { $0.hasSuffix(".log") }.sorted().compactMap { name in
            let path = "\(folder)/\(name)"
            // A file removed meanwhile (its intents finished) has nothing to recover.
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return try Self.parse(data, path: path)
        }
    }

    /// Marks `ids` finished in the files read back as `read`: in this journal's own files as
    /// ``finish(_:)`` does; another process's file is appended to, and removed once nothing in
    /// it is unfinished and its process is gone (an earlier run of this one included). Files of
    /// stopped processes with nothing unfinished (those that exited cleanly) are removed too.
    func settle(_ ids: Set<String>, in read: [Contents]) {
        let mine = state.withLock { Set($0.files.values.joined().map(\.path)) }
        for file in read where !mine.contains(file.path) || file.unfinished.contains(where: { ids.contains($0.id) }) {
            let done = file.unfinished.map(\.id).filter(ids.contains)
            if mine.contains(file.path) {
                finish(done)
                continue
            }
            if CallIntent.Selection.isStopped(holder: file.holder, process: file.process, by: .current) && done.count == file.unfinished.count {
                unlink(file.path)
                continue
            }
            guard !done.isEmpty else { continue }
            let descriptor = open(file.path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            try? Self.append(Self.finishedLine(done), to: descriptor, path: file.path)
            close(descriptor)
        }
    }

    /// Closes this journal's files, removing those with nothing unfinished: a process that
    /// exits cleanly leaves no file behind.
    func closeFiles() {
        state.withLock { state in
            for file in state.files.values.joined() {
                close(file.descriptor)
                if file.open.isEmpty { unlink(file.path) }
            }
            state.files = [:]
        }
    }

    /// A file's intents not marked finished. A last line without its newline (being written
    /// when read) is left out.
    static func parse(_ data: Data, path: String) throws -> Contents {
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
        if data.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }
        let header = lines.first?.split(separator: " ") ?? []
        guard header.count == 4, header[0] == "warden-intents", header[1] == "1" else {
            throw StoreError(.unavailable, "\(path) is not a call intent file Warden can read; move it aside after checking it (it may hold calls in flight)")
        }
        let (holder, process) = (String(header[2]), String(header[3]))
        var intents: [CallIntent] = []
        var finished: Set<String> = []
        for line in lines.dropFirst() {
            if line.hasPrefix("- ") {
                finished.formUnion(line.dropFirst(2).split(separator: " ").map(String.init))
            } else if line.hasPrefix("+ ") {
                let parts = line.dropFirst(2).split(separator: " ", maxSplits: 3)
                guard parts.count == 4 else { continue }
                let instance = parts[1] == "-" ? nil : String(parts[1])
                intents.append(
                    CallIntent(
                        id: String(parts[0]), recordText: String(parts[3]), instance: instance, holder: holder, process: process,
                        time: String(parts[2])))
            }
        }
        return Contents(path: path, holder: holder, process: process, unfinished: intents.filter { !finished.contains($0.id) })
    }
}

extension Array {
    /// Changes the last element in place (the array must not be empty).
    fileprivate mutating func withLast(_ change: (inout Element) -> Void) {
        change(&self[count - 1])
    }
}
