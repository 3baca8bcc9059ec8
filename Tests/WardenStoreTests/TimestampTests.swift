import Foundation
import Testing

@testable import WardenStore

@Suite struct TimestampTests {
    @Test func writesWhatFoundationsFormatterWrites() {
        var generator = SystemRandomNumberGenerator()
        let instants: [Double] = [0, 0.5, 59.9999, 951_782_400.0004, 1_764_064_800.9996, 4_102_444_799.999]
            + (0..<20000).map { _ in Double.random(in: 0..<4_102_444_800, using: &generator) }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.text(of: date) == date.formatted(AuditRecord.timeFormat), "\(seconds)")
        }
    }

    @Test func writesMillisecondsWithThreeDecimals() {
        let cases: [(Double, String)] = [(0, "0.000"), (0.0004, "0.000"), (0.0005, "0.001"), (1.5, "1.500"), (12.34567, "12.346"), (1234.05, "1234.050"), (-3, "0.000")]
        for (value, text) in cases {
            #expect(Timestamp.milliseconds(value) == text, "\(value)")
        }
    }
}
