import Testing
import WardenJSON

@Suite struct JSONWriterTests {
    @Test func compactRoundTripIsByteExact() throws {
        for text in [
            #"{"z":1.0,"a":[1E+2,-0,true,false,null],"s":"é \"q\" \\ / \n\u0001","n":{}}"#,
            #"[12345678901234567890123,0.000001,-1e-7]"#,
            #""\u001f\t""#,
        ] {
            #expect(JSONWriter.write(try JSONReader.parse(text)) == text.replacing("\\t", with: "\\t"))
        }
    }

    @Test func escapesMinimally() {
        #expect(JSONWriter.write(.string("a\"b\\c/d\u{8}\u{c}\n\r\t\u{1}\u{1f}é😀")) == #""a\"b\\c/d\b\f\n\r\t\u0001\u001fé😀""#)
    }

    @Test func findsAnEscapeAtEveryPlaceInLongStrings() {
        // Fillers next to the bytes that need escaping, and one byte either side of them.
        let fillers = ["a", " ", "!", "#", "[", "]", "\u{7f}", "é", "😀"]
        let escaped: [(String, String)] = [("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\u{0}", #"\u0000"#), ("\u{1f}", #"\u001f"#)]
        for filler in fillers {
            for length in 0..<20 {
                let plain = String(repeating: filler, count: length)
                #expect(JSONWriter.write(.string(plain)) == "\"\(plain)\"")
                for place in 0..<length {
                    for (special, escape) in escaped {
                        let before = String(repeating: filler, count: place)
                        let after = String(repeating: filler, count: length - place - 1)
                        #expect(JSONWriter.write(.string(before + special + after)) == "\"\(before)\(escape)\(after)\"")
                    }
                }
            }
        }
    }

    @Test func sortsKeysByBytesWhenAsked() throws {
        let value = try JSONReader.parse(#"{"b":1,"a":{"d":2,"c":3},"B":0,"é":4}"#)
        #expect(JSONWriter.write(value, sortKeys: true) == #"{"B":0,"a":{"c":3,"d":2},"b":1,"é":4}"#)
        #expect(value.description == #"{"b":1,"a":{"d":2,"c":3},"B":0,"é":4}"#)
    }
}
