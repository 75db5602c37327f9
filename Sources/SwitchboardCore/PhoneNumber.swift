/// Phone numbers in E.164 form (`+15551230000`), so that SMS and RCS from one phone meet.
public enum PhoneNumber {
    /// The E.164 form of a number written with spaces, dashes, dots or parentheses, or with a
    /// leading `00`; nil when it is not a plausible international number (8 to 15 digits).
    ///
    /// Numbers without a country code cannot be normalized without knowing the country, so they
    /// are refused rather than guessed.
    public static func e164(_ raw: String) -> String? {
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
