import FixtureSupport
import Foundation
import SwitchboardCore
import Testing
@testable import MessengerAdapter

@Suite("Messenger adapter")
struct MessengerAdapterTests {
    let adapter = MessengerAdapter(settings: MessengerSettings(
        appSecret: "app-secret", verifyToken: "verify-me", pageAccessToken: "page-token", pageId: "<PAGE_ID>",
        apiBaseURL: "https://graph.facebook.com", apiVersion: "v21.0"))

    func signed(_ body: [UInt8]) -> WebhookRequest {
        WebhookRequest(
            method: "POST", publicURL: "https://gw.example/webhooks/messenger",
            headers: [
                "content-type": "application/json",
                "x-hub-signature-256": "sha256=" + HMACSignature.sha256Hex(key: "app-secret", message: body),
            ],
            body: body)
    }

    func events(_ fixture: String) throws -> [InboundEvent] {
        try adapter.verifiedEvents(signed(try Fixtures.bytes("messenger/\(fixture)")))
    }

    @Test("the subscription handshake answers the challenge only for the right verify token")
    func handshake() throws {
        let query = [("hub.mode", "subscribe"), ("hub.verify_token", "verify-me"), ("hub.challenge", "1158201444")]
        #expect(try adapter.handshake(query: query) == "1158201444")
        #expect(throws: WebhookError.self) {
            try adapter.handshake(query: [("hub.mode", "subscribe"), ("hub.verify_token", "wrong"), ("hub.challenge", "1")])
        }
    }

    @Test("X-Hub-Signature-256 is checked over the raw bytes")
    func signature() throws {
        let body = try Fixtures.bytes("messenger/text-and-quick-reply.json")
        var request = signed(body)
        try adapter.verify(request)
        request.body[10] ^= 1
        #expect(throws: WebhookError.badSignature("the X-Hub-Signature-256 header does not match the body")) { try adapter.verify(request) }
        request.headers["x-hub-signature-256"] = nil
        #expect(throws: WebhookError.badSignature("the X-Hub-Signature-256 header is missing")) { try adapter.verify(request) }
        request.headers["content-type"] = "application/x-www-form-urlencoded"
        #expect(throws: WebhookError.self) { try adapter.verify(request) }
    }

    @Test("text with a quick reply becomes text plus a postback")
    func quickReply() throws {
        #expect(try events("text-and-quick-reply.json") == [.message(InboundMessage(
            channel: .messenger, senderAddress: "<PSID>", recipientAddress: "<PAGE_ID>",
            providerMessageId: "mid.1457764197618:41d102a3e1ae206a38",
            content: Content(text: "hello, world!", postback: .init(title: "hello, world!", payload: "<DEVELOPER_DEFINED_PAYLOAD>")),
            sentAt: Date(timeIntervalSince1970: 1458692752.478)))])
    }

    @Test("image and location attachments")
    func attachments() throws {
        let decoded = try events("attachments.json")
        // Meta's sample has a placeholder where the CDN URL stands: not a URL, so the image message
        // carries nothing and is dropped rather than stored with a link the console would render.
        guard decoded.count == 2, case .ignored = decoded[0], case .message(let location) = decoded[1] else {
            Issue.record("expected the image dropped and the location kept, got \(decoded)")
            return
        }
        #expect(location.content.location == .init(latitude: 51.5033, longitude: -0.1196, label: "Pin"))
    }

    @Test("a postback carries its title and payload, keyed by its mid")
    func postback() throws {
        guard case .message(let message) = try events("postback.json").first else {
            Issue.record("expected a message")
            return
        }
        #expect(message.content.postback == .init(title: "<TITLE_FOR_THE_CTA>", payload: "<USER_DEFINED_PAYLOAD>"))
        #expect(message.providerMessageId.hasPrefix("m_AG5Hz2Uq"))
    }

    @Test("delivery and read watermarks; echoes are acknowledged, not stored; a reaction names its message")
    func receipts() throws {
        let decoded = try events("delivery-read-echo-reaction.json")
        #expect(decoded.count == 4)
        #expect(decoded[0] == .watermark(Watermark(
            channel: .messenger, senderAddress: "<PSID>", status: .delivered, upTo: Date(timeIntervalSince1970: 1458668856.253),
            providerMessageIds: ["mid.1458668856218:ed81099e15d3f4f233"])))
        #expect(decoded[1] == .watermark(Watermark(
            channel: .messenger, senderAddress: "<PSID>", status: .read, upTo: Date(timeIntervalSince1970: 1458668856.253))))
        if case .ignored = decoded[2] {} else { Issue.record("an echo must be ignored") }
        // https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-reactions
        #expect(decoded[3] == .reaction(ReactionUpdate(
            channel: .messenger, senderAddress: "<PSID>", providerMessageId: "<MID_OF_THE_MESSAGE>", emoji: "\u{2764}\u{FE0F}", name: "love",
            at: Date(timeIntervalSince1970: 1458668856.463))))
    }

    @Test("malformed JSON is 400; another object is acknowledged and ignored")
    func badBodies() throws {
        #expect(throws: WebhookError.self) { try adapter.verifiedEvents(signed(Array("{not json".utf8))) }
        let other = try adapter.verifiedEvents(signed(Array(#"{"object":"instagram","entry":[]}"#.utf8)))
        if case .ignored = other.first {} else { Issue.record("expected ignored") }
    }

    @Test("a reply renders to the Send API with RESPONSE, up to 13 quick replies (more are refused, never dropped), titles at 20")
    func render() throws {
        let replies = (1...13).map { Content.QuickReply(title: "Option number \($0) is long", payload: "P\($0)") }
        let request = try adapter.render(OutboundEnvelope(messageId: "msg_1", recipientAddress: "<PSID>", content: Content(text: "Pick", quickReplies: replies)))
        #expect(request.url == "https://graph.facebook.com/v21.0/me/messages?access_token=page-token")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(json["messaging_type"] as? String == "RESPONSE")
        #expect((json["recipient"] as? [String: String])?["id"] == "<PSID>")
        let message = try #require(json["message"] as? [String: Any])
        let quick = try #require(message["quick_replies"] as? [[String: String]])
        #expect(quick.count == 13)
        #expect(quick[0] == ["content_type": "text", "title": "Option number 1 is l", "payload": "P1"])
        let fifteen = Content(text: "Pick", quickReplies: replies + [.init(title: "14", payload: "P14"), .init(title: "15", payload: "P15")])
        #expect(adapter.contentProblem(fifteen)?.message == "messenger: at most 13 quick replies; this message has 15")
        #expect(throws: MessageError.self) {
            try adapter.render(OutboundEnvelope(messageId: "msg_2", recipientAddress: "<PSID>", content: fifteen))
        }
    }

    @Test("answers: message_id accepted; code 4 and 5xx retried; 551 and 10 permanent")
    func interpret() {
        func response(_ status: Int, _ body: String) -> ProviderResponse {
            ProviderResponse(status: status, headers: [], body: Array(body.utf8))
        }
        #expect(adapter.interpret(response(200, #"{"recipient_id":"1254477777772919","message_id":"AG5Hz2Uq7tuw"}"#))
            == .accepted(providerMessageId: "AG5Hz2Uq7tuw", status: .sent))
        if case .retry = adapter.interpret(response(400, #"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"x"}}"#)) {} else {
            Issue.record("code 4 is a rate limit")
        }
        if case .retry = adapter.interpret(response(502, "")) {} else { Issue.record("5xx is transient") }
        #expect(adapter.interpret(response(400, #"{"error":{"message":"This person isn't available right now.","type":"OAuthException","code":551,"fbtrace_id":"x"}}"#))
            == .failed(MessageError(code: "messenger_551", message: "This person isn't available right now."), unsubscribed: false))
    }
}

@Suite("Messenger rendering")
struct MessengerRenderingTests {
    let adapter = MessengerAdapter(settings: MessengerSettings(
        appSecret: "s", verifyToken: "v", pageAccessToken: "t", pageId: nil, apiBaseURL: "https://graph.facebook.com", apiVersion: "21.0"))

    func body(_ envelope: OutboundEnvelope) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try adapter.render(envelope).body)) as? [String: Any] ?? [:]
    }

    @Test("outside the window an agent reply carries MESSAGE_TAG and HUMAN_AGENT")
    func humanAgentTag() throws {
        let json = try body(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: Content(text: "Sorry for the wait"), author: .agent, messengerTag: "HUMAN_AGENT"))
        #expect(json["messaging_type"] as? String == "MESSAGE_TAG")
        #expect(json["tag"] as? String == "HUMAN_AGENT")
    }

    @Test("a lone attachment goes as an attachment; with text, the URL follows the text")
    func attachments() throws {
        let image = Content.Attachment(kind: .image, url: "https://x.example/a.png")
        let alone = try body(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: Content(attachments: [image])))
        let attachment = try #require((alone["message"] as? [String: Any])?["attachment"] as? [String: Any])
        #expect(attachment["type"] as? String == "image")
        let withText = try body(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: Content(text: "Look", attachments: [image])))
        #expect((withText["message"] as? [String: Any])?["text"] as? String == "Look\nhttps://x.example/a.png")
        // Two without text: both links (a message holds one attachment; none is dropped).
        let second = Content.Attachment(kind: .image, url: "https://x.example/b.png")
        let two = try body(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: Content(attachments: [image, second])))
        #expect((two["message"] as? [String: Any])?["text"] as? String == "https://x.example/a.png\nhttps://x.example/b.png")
        #expect((two["message"] as? [String: Any])?["attachment"] == nil)
    }

    @Test("a place goes as its label and a maps link; text that the links push past 2,000 is refused before queueing")
    func location() throws {
        let place = Content(text: "We are here", location: .init(latitude: 52.52, longitude: 13.405, label: "Bike shop"))
        let json = try body(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: place))
        #expect((json["message"] as? [String: Any])?["text"] as? String == "We are here\nBike shop\nhttps://maps.google.com/?q=52.52,13.405")
        let long = Content(text: String(repeating: "x", count: 1990), attachments: [.init(kind: .image, url: "https://x.example/a.png")])
        #expect(adapter.contentProblem(long)?.code == "content_too_long")
        #expect(adapter.contentProblem(Content(attachments: [.init(kind: .image, url: "https://x.example/a.png")])) == nil)
    }
}
