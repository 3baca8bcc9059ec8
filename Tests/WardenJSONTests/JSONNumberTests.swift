import Testing
import WardenJSON

@Suite struct JSONNumberTests {
    func number(_ text: String) -> JSONNumber {
        JSONNumber(text)!
    }

    @Test func syntaxIsExactlyJSONs() {
        for valid in ["0", "-0", "1", "-1", "10", "1.5", "0.001", "1e5", "1E+5", "1e-5", "-12.50e3", "123456789012345678901234567890"] {
            #expect(JSONNumber(valid) != nil, "\(valid)")
        }
        for invalid in ["", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1_000", " 1", "1 ", "NaN", "Infinity", "--1", "1.2.3"] {
            #expect(JSONNumber(invalid) == nil, "\(invalid)")
        }
    }

    @Test func equalityIsByExactValue() {
        #expect(number("1") == number("1.0"))
        #expect(number("1") == number("10e-1"))
        #expect(number("1") == number("0.1e1"))
        #expect(number("-0") == number("0"))
        #expect(number("0.0e10") == number("0"))
        #expect(number("100") == number("1e2"))
        #expect(number("1") != number("1.0000000000000000000001"))
        #expect(number("9007199254740993") != number("9007199254740992"))
    }

    @Test func orderingIsExact() {
        #expect(number("100.0000000001") > number("100"))
        #expect(number("9007199254740993") > number("9007199254740992"))
        #expect(number("123456789012345678901234567891") > number("123456789012345678901234567890"))
        #expect(number("-1") < number("-0.9999999999999999999"))
        #expect(number("-0.0000001") < number("0"))
        #expect(number("0.001") < number("0.01"))
        #expect(number("1e-400") > number("0"))
        #expect(number("1e-400") < number("1e-399"))
        #expect(number("-1e400") < number("-1e399"))
        #expect(number("99.99") < number("100"))
        #expect(number("10000.5") > number("10000.49999999999999999999"))
        // Exponents far beyond any integer type neither crash nor overflow.
        #expect(number("1e99999999999999999999999") > number("1e99999999999999999999998") || number("1e99999999999999999999999") == number("1e99999999999999999999998"))
        #expect(number("1e99999999999999999999999") > number("9e999"))
        #expect(number("-1e99999999999999999999999") < number("-9e999"))
    }

    @Test func hashingAgreesWithEquality() {
        let set: Set<JSONNumber> = [number("1"), number("1.0"), number("1e0"), number("2")]
        #expect(set.count == 2)
        #expect(number("0").hashValue == number("-0.0").hashValue)
    }

    @Test func integersAndSigns() {
        #expect(number("1.0").isInteger)
        #expect(number("1e2").isInteger)
        #expect(number("-0").isInteger)
        #expect(number("12.5e1").isInteger)
        #expect(!number("1.5").isInteger)
        #expect(!number("1e-1").isInteger)
        #expect(number("-0.1").isNegative)
        #expect(!number("-0").isNegative)
        #expect(!number("0.1").isNegative)
        #expect(number("42").intValue == 42)
        #expect(number("-4.2e1").intValue == -42)
        #expect(number("9223372036854775807").intValue == Int.max)
        #expect(number("-9223372036854775808").intValue == Int.min)
        #expect(number("9223372036854775808").intValue == nil)
        #expect(number("1.5").intValue == nil)
        #expect(number("1e30").intValue == nil)
        #expect(number("2.5").doubleValue == 2.5)
    }
}
