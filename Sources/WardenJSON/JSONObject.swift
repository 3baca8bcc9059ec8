/// A JSON object: its members in document order.
///
/// Lookups compare keys byte for byte. Objects are small in practice, so a lookup is a
/// linear scan, which beats hashing for the handful of members a tool call carries.
public struct JSONObject: Sendable {
    /// One `"key": value` pair of an object.
    public struct Member: Sendable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in the order they were written.
    public var members: [Member]

    public init(_ members: [Member] = []) {
        self.members = members
    }

    /// The number of members.
    public var count: Int { members.count }

    /// The keys in document order.
    public var keys: [String] { members.map(\.key) }

    /// The value of the member named `key` (byte-exact), or `nil`.
    public subscript(key: String) -> JSONValue? {
        for member in members where member.key.hasSameBytes(as: key) {
            return member.value
        }
        return nil
    }

    /// Sets the member named `key` where it stands, or adds it at the end.
    public mutating func set(_ key: String, to value: JSONValue) {
        if let index = members.firstIndex(where: { $0.key.hasSameBytes(as: key) }) {
            members[index].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
    }
}

extension JSONObject: Equatable {
    /// Objects are equal when they have the same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for member in lhs.members {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }
}
