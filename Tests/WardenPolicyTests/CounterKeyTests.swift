import Testing
import WardenJSON
import WardenPolicy

@Suite struct CounterKeyTests {
    /// The form the store names counts by, as it was first written (escaped part by part with
    /// `replacing`): written byte by byte now, it must not change, or stored counts would be lost.
    static func reference(_ key: CounterKey) -> String {
        func escape(_ part: String) -> String {
            guard part.utf8.contains(where: { $0 == UInt8(ascii: "|") || $0 == UInt8(ascii: "%") }) else { return part }
            return part.replacing("%", with: "%25").replacing("|", with: "%7C")
        }
        return [key.counter.value, key.scope.rawValue, key.subject].map(escape).joined(separator: "|")
            + "|\(key.windowStart)+\(key.windowLength)"
    }

    @Test(arguments: [
        ("/tools/echo/limits/0", "alice"), ("spend", ""), ("a|b", "c%7Cd"), ("100%", "x|y|%"), ("é|ü", "e\u{301}"), ("", "|"),
    ])
    func descriptionIsTheStoredName(counter: String, subject: String) {
        for scope in [LimitScope.grant, .identity, .session, .server, .global] {
            let key = CounterKey(counter: counter, scope: scope, subject: subject, windowStart: 1_764_547_200, windowLength: 86_400)
            #expect(key.description == Self.reference(key))
        }
        let negative = CounterKey(counter: counter, scope: .grant, subject: subject, windowStart: -60, windowLength: 60)
        #expect(negative.description == Self.reference(negative))
    }

    /// A key hashes its fields once; equality and hashing still follow every field, as the
    /// synthesized ones did (counter names byte for byte, subjects as strings).
    @Test func keysAreEqualAndHashAlikeExactlyWhenTheirFieldsAre() {
        func key(counter: String = "/tools/echo/limits/0", scope: LimitScope = .grant, subject: String = "g_1", start: Int64 = 0, length: Int64 = 60)
            -> CounterKey
        {
            CounterKey(counter: counter, scope: scope, subject: subject, windowStart: start, windowLength: length)
        }
        let base = key()
        #expect(base == key())
        #expect(base.hashValue == key().hashValue)
        let others = [
            key(counter: "/tools/echo/limits/1"), key(scope: .identity), key(subject: "g_2"), key(start: 60), key(length: 3600),
            key(counter: "e\u{301}"), key(counter: "\u{e9}"),
        ]
        for other in others { #expect(base != other) }
        #expect(key(counter: "e\u{301}") != key(counter: "\u{e9}"))  // counter names: byte for byte
        #expect(key(subject: "e\u{301}") == key(subject: "\u{e9}"))  // subjects: as strings, as before
        #expect(key(subject: "e\u{301}").hashValue == key(subject: "\u{e9}").hashValue)
        var counts: [CounterKey: Int] = [:]
        for (index, other) in ([base] + others).enumerated() { counts[other] = index }
        #expect(counts.count == others.count + 1)
        #expect(counts[key()] == 0)
        #expect(counts[key(length: 3600)] == 5)
    }
}
