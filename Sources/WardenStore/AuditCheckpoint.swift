import Crypto
public import Foundation
public import WardenJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A checkpoint of the audit chain's head: the newest entry's sequence number and hash, and
/// when it was taken, kept outside the database (in the head file beside it, and in Warden's
/// log). A log that ends before a checkpoint's entry, or holds another hash there, lost its
/// newest entries or was rewritten, though its own chain may still link up.
///
/// Signed with a key kept outside the database (HMAC-SHA256), a checkpoint also cannot be
/// forged by someone who can write the database and the head file but cannot read the key.
public struct AuditCheckpoint: Sendable {
    /// The newest entry's sequence number.
    public var sequence: Int64
    /// The newest entry's hash.
    public var hash: String
    /// When the checkpoint was taken, as ISO 8601 text in UTC.
    public var time: String
    /// `hmac-sha256:<hex>` over the fields above, when written with a key.
    public var signature: String?
    /// Where the checkpoint was read from, for messages (not part of the checkpoint).
    public var source: String?

    /// The key that marks a checkpoint's JSON object, in the head file and in log lines.
    public static let marker = "warden_audit_checkpoint"

    /// The head file Warden keeps beside the database at `databasePath`.
    public static func path(besideDatabase databasePath: String) -> String {
        databasePath + ".audit-head.json"
    }

    /// A checkpoint of `head` taken at `time`, signed when there is a key.
    public init(head: AuditLog.Head, time: Date = Date(), key: AuditCheckpointKey? = nil) {
        self.sequence = head.sequence
        self.hash = head.hash
        self.time = Timestamp.text(of: time)
        let signed = Self.signedText(sequence: head.sequence, hash: head.hash, time: self.time)
        self.signature = key.map { "hmac-sha256:" + $0.authenticationCode(for: signed) }
    }

    /// The head the checkpoint records.
    public var head: AuditLog.Head { AuditLog.Head(sequence: sequence, hash: hash) }

    /// The checkpoint as one JSON object: `{"warden_audit_checkpoint":1,"seq":…,"hash":…,"time":…,"signature":…}`.
    public var json: JSONValue {
        var members: [JSONObject.Member] = [
            .init(key: Self.marker, value: .number(JSONNumber(1))),
            .init(key: "seq", value: .number(JSONNumber(uncheckedText: String(sequence)))),
            .init(key: "hash", value: .string(hash)),
            .init(key: "time", value: .string(time)),
        ]
        if let signature { members.append(.init(key: "signature", value: .string(signature))) }
        return .object(JSONObject(members))
    }

    /// The checkpoint's JSON text, on one line.
    public var text: String { JSONWriter.write(json) }

    /// Reads a checkpoint's JSON object.
    public init?(json value: JSONValue) {
        guard value[Self.marker] != nil, let sequence = value["seq"]?.numberValue.flatMap({ Int64($0.text) }), sequence > 0,
            let hash = value["hash"]?.stringValue, let time = value["time"]?.stringValue
        else { return nil }
        self.sequence = sequence
        self.hash = hash
        self.time = time
        self.signature = value["signature"]?.stringValue
    }

    /// The last checkpoint in `text`: a head file, or Warden's log, whose checkpoint lines
    /// carry the same JSON object. `nil` if there is none.
    public static func last(in text: String, source: String? = nil) -> AuditCheckpoint? {
        // Searched byte for byte: Foundation's `range(of:)` cost about 100k instructions per
        // head file, read after every flushed batch.
        let bytes = Array(text.utf8)
        let opening = Array("{\"\(marker)\"".utf8)
        var found: AuditCheckpoint?
        var from = 0
        while let start = firstIndex(of: opening, in: bytes, from: from) {
            // A checkpoint's values never hold braces, so its object ends at the first one.
            guard let end = bytes[(start + opening.count)...].firstIndex(of: UInt8(ascii: "}")) else { break }
            if let value = try? JSONReader.parse(bytes[start...end]), var checkpoint = AuditCheckpoint(json: value) {
                checkpoint.source = source
                found = checkpoint
            }
            from = end + 1
        }
        return found
    }

    /// Where `pattern` first occurs in `bytes` at or after `from`.
    private static func firstIndex(of pattern: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard let first = pattern.first, bytes.count - from >= pattern.count else { return nil }
        var index = from
        while index <= bytes.count - pattern.count {
            if bytes[index] == first && bytes[index..<index + pattern.count].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    /// The last checkpoint in the file at `path`.
    /// - Throws: ``AuditCheckpointError`` when the file cannot be read or holds no checkpoint.
    public static func read(from path: String) throws(AuditCheckpointError) -> AuditCheckpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a regular file" : "no such file"
            throw AuditCheckpointError("cannot read the checkpoint \(path): \(reason)")
        }
        guard let checkpoint = last(in: String(decoding: data, as: UTF8.self), source: path) else {
            throw AuditCheckpointError("\(path) holds no Warden audit checkpoint")
        }
        return checkpoint
    }

    /// Whether the checkpoint carries a valid signature made with `key`.
    public func isSigned(by key: AuditCheckpointKey) -> Bool {
        guard let signature, signature.hasPrefix("hmac-sha256:") else { return false }
        let expected = "hmac-sha256:" + key.authenticationCode(for: Self.signedText(sequence: sequence, hash: hash, time: time))
        // Compared in constant time: a forger learns nothing from how long a refusal takes.
        guard signature.utf8.count == expected.utf8.count else { return false }
        return zip(signature.utf8, expected.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The checkpoint in words, for messages: `the checkpoint of <time> (<source>)`.
    public var described: String {
        "the checkpoint of \(time)" + (source.map { " in \($0)" } ?? "")
    }

    private static func signedText(sequence: Int64, hash: String, time: String) -> [UInt8] {
        Array("warden audit checkpoint 1\n\(sequence)\n\(hash)\n\(time)".utf8)
    }

    /// The bytes of the file at `path`, read with plain system calls (Foundation's
    /// `contents(atPath:)` costs several times more, after every flushed batch); `nil` when it
    /// cannot be read.
    static func contents(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// Replaces the file at `path` with `text` atomically: a temporary file in the same
    /// folder, written and synced, renamed over it, and the folder synced. Readers see the
    /// old file or the new one, never a part, even across a crash.
    static func writeAtomically(_ text: String, to path: String) throws(AuditCheckpointError) {
        // The folder and the name split by hand: URL's path handling costs tens of thousands
        // of instructions, after every flushed batch.
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        let folder = slash.map { $0 == path.utf8.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.utf8.index(after: $0)...]) } ?? path
        let temporary = folder + "/.\(name).\(getpid()).\(UInt32.random(in: .min ... .max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AuditCheckpointError("cannot write the checkpoint \(path): \(String(cString: strerror(errno)))") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        let bytes = Array((text + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw AuditCheckpointError("cannot write the checkpoint \(path): \(reason)")
            }
            written += count
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced, rename(temporary, path) == 0 else {
            throw AuditCheckpointError("cannot write the checkpoint \(path): \(String(cString: strerror(errno)))")
        }
        renamed = true
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}

/// The secret that signs audit checkpoints (HMAC-SHA256), kept outside the database.
public struct AuditCheckpointKey: Sendable {
    private let key: SymmetricKey

    /// The fewest bytes a key may have.
    public static let minimumBytes = 16

    /// A key of these bytes.
    /// - Throws: ``AuditCheckpointError`` when there are fewer than ``minimumBytes``.
    public init(bytes: some Collection<UInt8>) throws(AuditCheckpointError) {
        guard bytes.count >= Self.minimumBytes else {
            throw AuditCheckpointError(
                "a checkpoint key needs at least \(Self.minimumBytes) bytes; make one with: head -c 32 /dev/urandom | base64 > FILE")
        }
        key = SymmetricKey(data: Array(bytes))
    }

    /// The key in the file at `path`: its bytes, without trailing white space (so a key
    /// written with `echo` or `base64` works).
    public init(contentsOfFile path: String) throws(AuditCheckpointError) {
        guard var bytes = FileManager.default.contents(atPath: path).map(Array.init) else {
            throw AuditCheckpointError("cannot read the checkpoint key \(path)")
        }
        while let last = bytes.last, [0x20, 0x09, 0x0A, 0x0D].contains(last) { bytes.removeLast() }
        do {
            try self.init(bytes: bytes)
        } catch {
            throw AuditCheckpointError("\(path): \(error.description)")
        }
    }

    func authenticationCode(for message: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: key).map { byte in
            let hex = Array("0123456789abcdef")
            return String([hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }.joined()
    }
}

/// A checkpoint that cannot be read, written or trusted, and why.
public struct AuditCheckpointError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The system's `read`, which ``AuditCheckpoint/read(from:)`` hides inside the type.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
