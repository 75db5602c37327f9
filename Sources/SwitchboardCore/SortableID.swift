import Foundation

/// Lexicographically sortable identifiers (ULID layout: 48-bit millisecond time, 80 random bits,
/// Crockford base 32) with a type prefix such as `msg_` or `ct_`.
///
/// Identifiers made later in time sort after earlier ones, so storage can order a trail by id.
/// Within one millisecond the random part is incremented, keeping identifiers from one process
/// strictly increasing.
public enum SortableID {
    public static let messagePrefix = "msg_"
    public static let contactPrefix = "ct_"

    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private static let state = LockedState()

    /// A new identifier with the given prefix.
    public static func make(prefix: String, now: Date = Date()) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let (time, high, low) = state.next(millis: millis)
        var bytes = [UInt8](repeating: 0, count: 26)
        var t = time
        for i in stride(from: 9, through: 0, by: -1) {
            bytes[i] = alphabet[Int(t & 31)]
            t >>= 5
        }
        // 80 random bits (`high`:`low`, 16 + 64) as 16 base-32 digits, most significant first.
        for k in 0..<16 {
            let bit = 5 * k
            let digit: UInt64
            if bit + 5 <= 64 {
                digit = (low >> UInt64(bit)) & 31
            } else if bit >= 64 {
                digit = (UInt64(high) >> UInt64(bit - 64)) & 31
            } else {
                digit = ((low >> UInt64(bit)) | (UInt64(high) << UInt64(64 - bit))) & 31
            }
            bytes[25 - k] = alphabet[Int(digit)]
        }
        return prefix + String(decoding: bytes, as: UTF8.self)
    }

    private final class LockedState: @unchecked Sendable {
        private let lock = NSLock()
        private var lastMillis: UInt64 = 0
        private var high: UInt16 = 0
        private var low: UInt64 = 0

        func next(millis: UInt64) -> (UInt64, UInt16, UInt64) {
            lock.lock()
            defer { lock.unlock() }
            if millis > lastMillis {
                lastMillis = millis
                // Keep headroom so increments within the millisecond do not overflow.
                high = UInt16.random(in: 0...0x3FFF)
                low = UInt64.random(in: 0...UInt64.max)
            } else {
                let (sum, overflow) = low.addingReportingOverflow(1)
                low = sum
                if overflow { high &+= 1 }
            }
            return (lastMillis, high, low)
        }
    }
}
