import Foundation

/// The JSON text a message's content is stored as, on both backends.
///
/// Most messages carry text alone; their JSON is written directly (every webhook stores one), and
/// everything else goes through `JSONEncoder`. Both spellings decode to the same `Content`.
public enum ContentJSON {
    public static func encode(_ content: Content) throws -> String {
        if let text = content.text, content.attachments.isEmpty, content.quickReplies.isEmpty,
           content.location == nil, content.postback == nil, !content.isRich {
            return textOnly(text)
        }
        return String(decoding: try JSONEncoder().encode(content), as: UTF8.self)
    }

    public static func decode(_ json: String) throws -> Content {
        try JSONDecoder().decode(Content.self, from: Data(json.utf8))
    }

    /// `{"text":"…"}` with the string escaped as RFC 8259 section 7 requires: the quotation mark,
    /// the reverse solidus and the control characters below U+0020.
    static func textOnly(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 12)
        out.append(contentsOf: #"{"text":""#.utf8)
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(contentsOf: #""}"#.utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
