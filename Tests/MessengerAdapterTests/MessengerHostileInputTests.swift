import FixtureSupport
import Foundation
import SwitchboardCore
import Testing
@testable import MessengerAdapter

/// Signed events with impossible numbers and URLs: the secret may be known to an attacker (it was
/// the published simulator value), so a signature proves nothing about the values.
@Suite("Messenger adapter: hostile values")
struct MessengerHostileInputTests {
    let adapter = MessengerAdapter(settings: MessengerSettings(
        appSecret: "app-secret", verifyToken: "verify-me", pageAccessToken: "page-token", pageId: "1",
        apiBaseURL: "https://graph.facebook.com", apiVersion: "v21.0"))

    func decode(_ events: String) throws -> [InboundEvent] {
        let body = Array(#"{"object":"page","entry":[{"id":"1","time":1,"messaging":[\#(events)]}]}"#.utf8)
        return try adapter.verifiedEvents(WebhookRequest(
            method: "POST", publicURL: "https://gw.example/webhooks/messenger",
            headers: ["content-type": "application/json", "x-hub-signature-256": "sha256=" + HMACSignature.sha256Hex(key: "app-secret", message: body)],
            body: body))
    }

    func isIgnored(_ event: InboundEvent?) -> Bool {
        if case .ignored = event { return true }
        return false
    }

    @Test("timestamps and watermarks of 1e22, -1 or 1e308 are dropped, not converted", arguments: ["1e22", "-1", "1e308"])
    func impossibleNumbers(value: String) throws {
        let events = try decode("""
            {"sender":{"id":"P"},"recipient":{"id":"1"},"timestamp":\(value),"message":{"mid":"m_1","text":"hi"}},
            {"sender":{"id":"P"},"recipient":{"id":"1"},"timestamp":\(value),"postback":{"title":"Go","payload":"GO"}},
            {"sender":{"id":"P"},"recipient":{"id":"1"},"delivery":{"mids":["m_2"],"watermark":\(value)}},
            {"sender":{"id":"P"},"recipient":{"id":"1"},"read":{"watermark":\(value)}}
            """)
        #expect(events.count == 4)
        #expect(events.allSatisfy(isIgnored))
    }

    @Test("a postback without a mid is keyed by sender and time in whole milliseconds")
    func postbackWithoutMid() throws {
        let events = try decode(#"{"sender":{"id":"P"},"recipient":{"id":"1"},"timestamp":1458692752478.9,"postback":{"title":"Go","payload":"GO"}}"#)
        guard case .message(let message) = events.first else {
            Issue.record("expected a message, got \(events)")
            return
        }
        #expect(message.providerMessageId == "postback:P:1458692752478")
    }

    @Test("attachment URLs that are not http(s) are not carried; coordinates out of range are dropped")
    func urlsAndCoordinates() throws {
        let events = try decode("""
            {"sender":{"id":"P"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m_1","text":"look","attachments":[
              {"type":"image","payload":{"url":"javascript:alert(document.cookie)"}},
              {"type":"file","payload":{"url":"https://cdn.example.com/a.pdf"}},
              {"type":"fallback","payload":{"url":"data:text/html,<script>alert(1)</script>","title":"x"}},
              {"type":"location","payload":{"coordinates":{"lat":1e300,"long":0}}}]}}
            """)
        guard case .message(let message) = events.first else {
            Issue.record("expected a message, got \(events)")
            return
        }
        #expect(message.content.attachments.map(\.url) == ["https://cdn.example.com/a.pdf"])
        #expect(message.content.location == nil)
    }

    @Test("a reaction: taken back with unreact; without a mid, an emoji or a known action it is acknowledged and dropped")
    func reactions() throws {
        let person = #"{"sender":{"id":"P1"},"recipient":{"id":"1"},"timestamp":1700000000000,"#
        let unreact = try decode(person + #""reaction":{"action":"unreact","mid":"m_1"}}"#)
        #expect(unreact == [.reaction(ReactionUpdate(
            channel: .messenger, senderAddress: "P1", providerMessageId: "m_1", emoji: nil, name: nil,
            at: Date(timeIntervalSince1970: 1_700_000_000)))])
        #expect(isIgnored(try decode(person + #""reaction":{"action":"react","emoji":"x"}}"#).first))
        #expect(isIgnored(try decode(person + #""reaction":{"action":"react","mid":"m_1"}}"#).first))
        #expect(isIgnored(try decode(person + #""reaction":{"action":"smash","emoji":"x","mid":"m_1"}}"#).first))
        // A long "emoji" is not one: not kept; with Meta's name it still counts.
        let long = String(repeating: "😀", count: 40)
        let named = try decode(person + #""reaction":{"action":"react","reaction":"smile","emoji":"\#(long)","mid":"m_1"}}"#)
        guard case .reaction(let update) = named.first else { Issue.record("expected a reaction, got \(named)"); return }
        #expect(update.emoji == nil && update.name == "smile")
    }

    @Test("a sticker is one image named sticker, also while Meta sends it twice (sticker and image)")
    func stickers() throws {
        let person = #"{"sender":{"id":"P1"},"recipient":{"id":"1"},"timestamp":1700000000000,"#
        // Since 2026-06-01 both attachments come until 2026-08-30 (Meta's changelog), then the sticker alone.
        let both = try decode(person + #""message":{"mid":"m_s1","sticker_id":369239263222822,"attachments":[{"type":"image","payload":{"url":"https://scontent.example/s.png","sticker_id":369239263222822}},{"type":"sticker","payload":{"url":"https://scontent.example/s.png","sticker_id":369239263222822}}]}}"#)
        let old = try decode(person + #""message":{"mid":"m_s2","attachments":[{"type":"image","payload":{"url":"https://scontent.example/s.png","sticker_id":369239263222822}}]}}"#)
        let new = try decode(person + #""message":{"mid":"m_s3","attachments":[{"type":"sticker","payload":{"url":"https://scontent.example/s.png","sticker_id":369239263222822}}]}}"#)
        for events in [both, old, new] {
            guard case .message(let message) = events.first else { Issue.record("expected a message, got \(events)"); continue }
            #expect(message.content.attachments == [.init(kind: .image, url: "https://scontent.example/s.png", name: "sticker")])
        }
        // A sticker without a usable URL carries nothing.
        #expect(isIgnored(try decode(person + #""message":{"mid":"m_s4","attachments":[{"type":"sticker","payload":{"url":"file:///etc/passwd"}}]}}"#).first))
    }

    @Test("the documented sticker event (Tests/Fixtures/messenger/sticker.json) is one image named sticker")
    func documentedSticker() throws {
        let fixture = String(decoding: try Fixtures.bytes("messenger/sticker.json"), as: UTF8.self)
            .replacingOccurrences(of: "<STICKER_URL>", with: "https://scontent.xx.fbcdn.net/sticker.png")
        let body = Array(fixture.utf8)
        let events = try adapter.verifiedEvents(WebhookRequest(
            method: "POST", publicURL: "https://gw.example/webhooks/messenger",
            headers: ["content-type": "application/json", "x-hub-signature-256": "sha256=" + HMACSignature.sha256Hex(key: "app-secret", message: body)],
            body: body))
        guard case .message(let message) = events.first else { Issue.record("expected a message, got \(events)"); return }
        #expect(message.content.attachments == [.init(kind: .image, url: "https://scontent.xx.fbcdn.net/sticker.png", name: "sticker")])
        #expect(message.providerMessageId == "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c")
    }
}
