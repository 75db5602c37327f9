import Foundation
import Testing
@testable import SwitchboardCore

@Suite("Stored content JSON")
struct ContentJSONTests {
    static let texts = [
        "", "hi", "quote \" and backslash \\ and slash /", "line\nbreak\r\ttab", "\u{0}\u{1}\u{1F}\u{7F}",
        "Ünïcødé 😀 \u{2028}\u{2029}", "{\"text\":\"nested\"}", String(repeating: "long ", count: 400),
    ]

    @Test("text-only content is written directly and decodes as JSONEncoder's does", arguments: texts)
    func textOnly(text: String) throws {
        let content = Content(text: text)
        let direct = try ContentJSON.encode(content)
        #expect(direct == ContentJSON.textOnly(text))
        #expect(try ContentJSON.decode(direct) == content)
        // Any JSON parser reads it as the same object.
        let parsed = try JSONSerialization.jsonObject(with: Data(direct.utf8)) as? [String: String]
        #expect(parsed == ["text": text])
        let viaEncoder = String(decoding: try JSONEncoder().encode(content), as: UTF8.self)
        #expect(try ContentJSON.decode(viaEncoder) == ContentJSON.decode(direct))
    }

    @Test("content with more than text goes through the encoder and round-trips")
    func richer() throws {
        let contents = [
            Content(text: "pick", quickReplies: [.init(title: "Yes", payload: "YES")]),
            Content(attachments: [.init(kind: .image, url: "https://example.com/a.png", mimeType: "image/png")]),
            Content(),
        ]
        for content in contents {
            let json = try ContentJSON.encode(content)
            #expect(!json.hasPrefix(#"{"text":""#) || !content.quickReplies.isEmpty)
            #expect(try ContentJSON.decode(json) == content)
        }
    }
}
