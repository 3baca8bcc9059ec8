import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of times in records: ISO 8601 in UTC with milliseconds, `2026-11-25T10:04:16.123Z`.
enum Timestamp {
    /// `date` as `AuditRecord.timeFormat` writes it (milliseconds truncated), without
    /// Foundation's formatter, which costs microseconds per call on the audit path.
    static func text(of date: Date) -> String {
        // Whole seconds and the fraction apart, as Foundation does: multiplying the whole
        // interval by 1000 first would round some times up a millisecond.
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        var seconds = time_t(whole)
        let fraction = min(999, Int(((interval - whole) * 1000).rounded(.down)))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Written straight into the string's storage: 24 bytes, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
        return String(unsafeUninitializedCapacity: 24) { text in
            var count = 0
            func append(_ byte: UInt8) {
                text[count] = byte
                count += 1
            }
            func append(_ value: Int, digits: Int) {
                var divisor = 1
                for _ in 1..<digits { divisor *= 10 }
                var rest = value
                while divisor > 0 {
                    append(UInt8(ascii: "0") + UInt8(rest / divisor))
                    rest %= divisor
                    divisor /= 10
                }
            }
            append(Int(parts.tm_year) + 1900, digits: 4)
            append(UInt8(ascii: "-"))
            append(Int(parts.tm_mon) + 1, digits: 2)
            append(UInt8(ascii: "-"))
            append(Int(parts.tm_mday), digits: 2)
            append(UInt8(ascii: "T"))
            append(Int(parts.tm_hour), digits: 2)
            append(UInt8(ascii: ":"))
            append(Int(parts.tm_min), digits: 2)
            append(UInt8(ascii: ":"))
            append(Int(parts.tm_sec), digits: 2)
            append(UInt8(ascii: "."))
            append(fraction, digits: 3)
            append(UInt8(ascii: "Z"))
            return count
        }
    }

    /// A duration in milliseconds with three decimals (`12.345`), as `%.3f` writes it;
    /// negative durations are written as zero.
    static func milliseconds(_ value: Double) -> String {
        let thousandths = max(0, Int64((value * 1000).rounded()))
        let fraction = thousandths % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(thousandths / 1000).\(padded)"
    }
}
