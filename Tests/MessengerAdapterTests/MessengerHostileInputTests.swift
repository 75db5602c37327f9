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
}
