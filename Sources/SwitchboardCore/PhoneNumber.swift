/// Phone numbers in E.164 form (`+15551230000`), so that SMS and RCS from one phone meet.
public enum PhoneNumber {
    /// The E.164 form of a number written with spaces, dashes, dots or parentheses, or with a
    /// leading `00`; nil when it is not a plausible international number (8 to 15 digits).
    ///
    /// Numbers without a country code cannot be normalized without knowing the country, so they
    /// are refused rather than guessed.
    public static func e164(_ raw: String) -> String? {
        if raw.utf8.allSatisfy({ $0 < 0x80 }) { return e164(ascii: raw.utf8) }
        return e164(characters: raw)
    }

    /// `e164(_:)` for ASCII text, byte by byte (every webhook's sender goes through here).
    static func e164(ascii: String.UTF8View) -> String? {
        // ASCII whitespace, as `Character.isWhitespace` has it: tab, line feed, vertical tab,
        // form feed, carriage return, space.
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (9...13).contains(byte) }
        var bytes = ascii[...]
        while let first = bytes.first, isSpace(first) { bytes.removeFirst() }
        while let last = bytes.last, isSpace(last) { bytes.removeLast() }
        var digits: [UInt8] = [UInt8(ascii: "+")]
        digits.reserveCapacity(16)
        var sawPlus = false
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "+") where offset == 0:
                sawPlus = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(byte)
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "/"):
                continue
            default:
                return nil
            }
        }
        if !sawPlus {
            guard digits.count >= 3, digits[1] == UInt8(ascii: "0"), digits[2] == UInt8(ascii: "0") else { return nil }
            digits.removeSubrange(1...2)
        }
        guard (8...15).contains(digits.count - 1), digits[1] != UInt8(ascii: "0") else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }

    /// `e164(_:)` by Character, for text that is not all ASCII.
    static func e164(characters raw: String) -> String? {
        var digits = ""
        var sawPlus = false
        for (index, ch) in raw.trimmingWhitespace().enumerated() {
            if ch == "+", index == 0 {
                sawPlus = true
            } else if ch.isASCII, ch.isNumber {
                digits.append(ch)
            } else if " -.()/".contains(ch) {
                continue
            } else {
                return nil
            }
        }
        if !sawPlus {
            guard digits.hasPrefix("00") else { return nil }
            digits.removeFirst(2)
        }
        guard (8...15).contains(digits.count), digits.first != "0" else { return nil }
        return "+" + digits
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    public func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
