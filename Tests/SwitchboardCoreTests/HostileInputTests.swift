import Foundation
import SwitchboardCore
import Testing

@Suite("Hostile input: numbers, URLs and body shapes")
struct HostileInputTests {
    @Test("provider millisecond times are accepted within 1970-9999 and refused otherwise, never trapping", arguments: [
        (1_458_692_752_478.0, true), (0.0, true), (253_402_300_799_999.0, true),
        (1e22, false), (-1.0, false), (.infinity, false), (-.infinity, false), (.nan, false), (Double.greatestFiniteMagnitude, false),
    ])
    func providerDates(millis: Double, accepted: Bool) {
        #expect((Timestamp.providerDate(millis: millis) != nil) == accepted)
    }

    @Test("dates beyond Int64 milliseconds clamp instead of trapping, and format within years 0001-9999")
    func clamping() {
        #expect(Timestamp.millis(Date(timeIntervalSince1970: 1e22)) == .max)
        #expect(Timestamp.millis(Date(timeIntervalSince1970: -1e22)) == .min)
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1e22)) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: -1e22)) == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_764_064_800.25)) == "2025-11-25T10:00:00.250Z")
    }

    @Test("URLs: absolute https with a host; http only where allowed", arguments: [
        ("https://cdn.example.com/a.png", false, true),
        ("HTTPS://cdn.example.com/a.png", false, true),
        ("https://[2001:db8::1]:8443/x", false, true),
        ("http://cdn.example.com/a.png", false, false),
        ("http://cdn.example.com/a.png", true, true),
        ("javascript:alert(1)", true, false),
        ("JavaScript:alert(1)", true, false),
        (" javascript:alert(1)", true, false),
        ("java\tscript:alert(1)", true, false),
        ("data:text/html;base64,PHNjcmlwdD4=", true, false),
        ("//evil.example.com/a.png", true, false),
        ("/relative/path.png", true, false),
        ("https://", true, false),
        ("https:///path", true, false),
        ("https://bank.example@evil.example/", true, false),
        ("https://a.example/\\evil", true, false),
        ("https://a.example/a b", true, false),
        ("ftp://files.example.com/x", true, false),
    ])
    func urls(url: String, allowHTTP: Bool, accepted: Bool) {
        #expect(ExternalURL.isAcceptable(url, allowHTTP: allowHTTP) == accepted, "\(url)")
    }

    @Test("a URL longer than the limit is refused")
    func longURL() {
        #expect(!ExternalURL.isAcceptable("https://a.example/" + String(repeating: "a", count: ExternalURL.maxLength), allowHTTP: false))
    }

    @Test("outbound content names the refused URL and the channel's scheme rule")
    func outboundContent() {
        let content = Content(text: "see", attachments: [.init(kind: .file, url: "javascript:alert(1)")])
        let problem = OutboundPolicy.contentProblem(content, channel: .webchat)
        #expect(problem?.code == "invalid_url")
        #expect(problem?.message.contains("attachments[0].url") == true)
        let plain = Content(attachments: [.init(kind: .image, url: "http://cdn.example.com/a.png")])
        #expect(OutboundPolicy.contentProblem(plain, channel: .sms) == nil)
        #expect(OutboundPolicy.contentProblem(plain, channel: .rcs)?.code == "invalid_url")
        let farAway = Content(location: .init(latitude: 1e300, longitude: 0))
        #expect(OutboundPolicy.contentProblem(farAway, channel: .messenger)?.code == "invalid_location")
    }

    @Test("locations within ±90/±180 only")
    func locations() {
        #expect(Content.Location.checked(latitude: 51.5, longitude: -0.12) != nil)
        #expect(Content.Location.checked(latitude: 91, longitude: 0) == nil)
        #expect(Content.Location.checked(latitude: 0, longitude: -181) == nil)
        #expect(Content.Location.checked(latitude: .nan, longitude: 0) == nil)
    }

    @Test("form parameters are counted and JSON nesting measured before anything is parsed")
    func shapes() throws {
        #expect(WebhookShape.formParameterCount(Array("a=1&b=2&&c".utf8)) == 3)
        #expect(WebhookShape.formParameterCount([]) == 0)
        let many = Array((0..<300).map { "p\($0)=x" }.joined(separator: "&").utf8)
        #expect(throws: WebhookShape.Refusal.tooManyParameters(limit: 256)) {
            try WebhookShape.check(many, mediaType: "application/x-www-form-urlencoded", maxFormParameters: 256, maxJSONDepth: 32)
        }
        let deep = Array((String(repeating: "[", count: 40) + String(repeating: "]", count: 40)).utf8)
        #expect(throws: WebhookShape.Refusal.tooDeep(limit: 32)) {
            try WebhookShape.check(deep, mediaType: "application/json", maxFormParameters: 256, maxJSONDepth: 32)
        }
        // Brackets inside strings (and escaped quotes) do not count.
        let quoted = Array(#"{"a":"[[[[[[[[[[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#.utf8)
        try WebhookShape.check(quoted, mediaType: "application/json", maxFormParameters: 256, maxJSONDepth: 2)
        // Other media types are left to the adapters (which answer 415).
        try WebhookShape.check(deep, mediaType: "text/plain", maxFormParameters: 1, maxJSONDepth: 1)
    }
}
