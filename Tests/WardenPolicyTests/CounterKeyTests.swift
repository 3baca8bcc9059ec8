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
}
