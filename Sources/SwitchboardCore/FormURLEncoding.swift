/// `application/x-www-form-urlencoded` bodies as ordered name-value pairs (repeated names kept).
public enum FormURLEncoding {
    public enum DecodingError: Error, Equatable {
        /// A `%` not followed by two hex digits, or bytes that are not UTF-8 after decoding.
        case malformed(String)
    }

    /// Decodes a body such as `From=%2B1555&Body=hi+there` into pairs in their order.
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(24)
        var failure: DecodingError?
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            let count = buffer.count
            while start <= count {
                var end = start
                while end < count, buffer[end] != UInt8(ascii: "&") { end += 1 }
                if end > start {
                    var equals = start
                    while equals < end, buffer[equals] != UInt8(ascii: "=") { equals += 1 }
                    let nameSlice = UnsafeBufferPointer(rebasing: buffer[start..<equals])
                    let valueSlice = equals < end ? UnsafeBufferPointer(rebasing: buffer[(equals + 1)..<end]) : UnsafeBufferPointer(rebasing: buffer[end..<end])
                    do throws(DecodingError) {
                        pairs.append((try component(nameSlice), try component(valueSlice)))
                    } catch {
                        failure = error
                        return
                    }
                }
                start = end + 1
            }
        }
        if let failure { throw failure }
        return pairs
    }

    /// Decodes a `[UInt8]`-like body; see `decode(_:)`.
    public static func decode(_ bytes: some Collection<UInt8>) throws(DecodingError) -> [(String, String)] {
        try decode(Array(bytes))
    }

    /// One name or value: `+` is a space, `%XX` a byte, and the result must be UTF-8.
    static func component(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> String {
        var plain = true
        for byte in bytes where byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") {
            plain = false
            break
        }
        if plain {
            return try utf8String(bytes)
        }
        return try percentDecode(Array(bytes))
    }

    /// Encodes pairs with the form rules (space as `+`, everything but unreserved bytes escaped).
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// Percent-escapes a component for a form body or a query string.
    public static func escape(_ text: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: " "):
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecode(_ bytes: [UInt8]) throws(DecodingError) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else if byte == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else {
                    throw .malformed("bad percent escape")
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(byte)
                i += 1
            }
        }
        return try out.withUnsafeBufferPointer { buffer throws(DecodingError) in try utf8String(buffer) }
    }

    /// The bytes as a string, refused unless they are UTF-8. ASCII, which is most of what providers
    /// send, is valid UTF-8 as it stands and skips the full validation.
    static func utf8String(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> String {
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("not UTF-8") }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
