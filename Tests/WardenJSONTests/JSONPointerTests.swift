import Testing
import WardenJSON

@Suite struct JSONPointerTests {
    @Test func escapesAndRoundTrips() {
        let pointer = JSONPointer.root.appending("tools").appending("a/b~c").appending(0)
        #expect(pointer.description == "/tools/a~1b~0c/0")
        #expect(JSONPointer(pointer.description) == pointer)
        #expect(JSONPointer("/tools/a~1b~0c/0")?.tokens == ["tools", "a/b~c", "0"])
        #expect(JSONPointer("")?.tokens == [])
        #expect(JSONPointer("/")?.tokens == [""])
        #expect(JSONPointer("tools") == nil)
        #expect(JSONPointer.root.description == "")
        // ~01 is "~1" unescaped, not "/".
        #expect(JSONPointer("/~01")?.tokens == ["~1"])
    }
}
