import SwitchboardCore
import Testing

@Suite("Media rules")
struct MediaRulesTests {
    @Test("Content-Type values: the media type, lower-cased, without parameters; junk is nil")
    func mediaTypes() {
        #expect(MediaRules.mediaType(fromContentType: "Image/PNG; charset=binary") == "image/png")
        #expect(MediaRules.mediaType(fromContentType: "application/vnd.ms-excel") == "application/vnd.ms-excel")
        for junk in [nil, "", "png", "image/", "/png", "image/png/x", "image/p\u{0}ng", "text/html\r\nX-Evil: 1"] {
            #expect(MediaRules.mediaType(fromContentType: junk) == nil, "\(String(describing: junk))")
        }
    }

    @Test("types the providers carry are kept; others are refused by name")
    func types() {
        for kept in ["image/jpeg", "image/png", "video/mp4", "audio/ogg", "application/pdf", "text/vcard"] {
            #expect(MediaRules.check(type: kept) == nil)
        }
        #expect(MediaRules.check(type: "text/html") == .typeNotAllowed("text/html"))
        #expect(MediaRules.check(type: "image/svg+xml") == .typeNotAllowed("image/svg+xml"))
        #expect(MediaRules.Refusal.typeNotAllowed("text/html").message.hasPrefix("text/html is not a media type"))
    }

    @Test("a file's first bytes must be its type's signature where the format has one")
    func signatures() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        #expect(MediaRules.check(firstBytes: png, type: "image/png") == nil)
        #expect(MediaRules.check(firstBytes: png, type: "image/jpeg") == .notThatType("image/jpeg"))
        #expect(MediaRules.check(firstBytes: [0xFF, 0xD8, 0xFF, 0xE0], type: "image/jpeg") == nil)
        #expect(MediaRules.check(firstBytes: Array("GIF89a".utf8), type: "image/gif") == nil)
        #expect(MediaRules.check(firstBytes: Array("RIFF\u{1}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), type: "image/webp") == nil)
        #expect(MediaRules.check(firstBytes: Array("%PDF-1.7\n".utf8), type: "application/pdf") == nil)
        #expect(MediaRules.check(firstBytes: [0, 0, 0, 24] + Array("ftypmp42".utf8), type: "video/mp4") == nil)
        #expect(MediaRules.check(firstBytes: Array("<html><body>".utf8), type: "image/png") == .notThatType("image/png"))
        #expect(MediaRules.check(firstBytes: Array("<svg>".utf8), type: "application/pdf") == .notThatType("application/pdf"))
        // Text and vCards have no signature.
        #expect(MediaRules.check(firstBytes: Array("BEGIN:VCARD".utf8), type: "text/vcard") == nil)
        #expect(MediaRules.check(firstBytes: [0x89], type: "image/png") == .notThatType("image/png"))
    }

    @Test("an untyped file is typed by its signature, when it has a kept type's")
    func sniffing() {
        #expect(MediaRules.sniffedType(firstBytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]) == "image/png")
        #expect(MediaRules.sniffedType(firstBytes: Array("%PDF-1.4\n".utf8)) == "application/pdf")
        #expect(MediaRules.sniffedType(firstBytes: Array("<html>".utf8)) == nil)
        #expect(MediaRules.sniffedType(firstBytes: []) == nil)
    }
}
