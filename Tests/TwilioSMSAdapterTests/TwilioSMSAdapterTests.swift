import FixtureSupport
import Foundation
import SwitchboardCore
import Testing
@testable import TwilioSMSAdapter

@Suite("Twilio SMS adapter")
struct TwilioSMSAdapterTests {
    let settings = TwilioSettings(
        accountSid: "AC00000000000000000000000000000000", authToken: "token", from: "+15550001111", messagingServiceSid: nil,
        apiBaseURL: "https://api.twilio.com/", statusCallbackURL: "https://gw.example/webhooks/twilio/status")
    var adapter: TwilioSMSAdapter { TwilioSMSAdapter(settings: settings) }

    func signedRequest(_ form: [(String, String)], url: String = "https://gw.example/webhooks/twilio/sms") -> WebhookRequest {
        let signature = TwilioSignature(authToken: "token").compute(url: url, parameters: form)
        return WebhookRequest(
            method: "POST", publicURL: url,
            headers: ["content-type": "application/x-www-form-urlencoded; charset=utf-8", "x-twilio-signature": signature],
            body: Array(FormURLEncoding.encode(form).utf8))
    }

    /// The MMS parameters of https://www.twilio.com/docs/messaging/guides/webhook-request
    /// (see Tests/Fixtures/twilio/inbound-mms.form and its SOURCE file).
    @Test("an inbound MMS decodes into text and attachments")
    func decodesMMS() throws {
        let fixture = try Fixtures.text("twilio/inbound-mms.form")
        let form = try FormURLEncoding.decode(Array(fixture.trimmingWhitespace().utf8))
        let request = signedRequest(form)
        try adapter.verify(request)
        let events = try adapter.decode(request)
        #expect(events == [.message(InboundMessage(
            channel: .sms, senderAddress: "+14155550100", recipientAddress: "+14155550199",
            providerMessageId: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
            content: Content(text: "Hello", attachments: [
                .init(kind: .image, url: "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f/Media/ME0000", mimeType: "image/jpeg"),
            ])))])
    }

    @Test("verification: missing signature, wrong media type")
    func verification() {
        var request = signedRequest([("MessageSid", "SM1"), ("From", "+15551230000")])
        request.headers["x-twilio-signature"] = nil
        #expect(throws: WebhookError.badSignature("the X-Twilio-Signature header is missing")) { try adapter.verify(request) }
        request.headers["content-type"] = "application/json"
        #expect(throws: WebhookError.unsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")) {
            try adapter.verify(request)
        }
    }

    @Test("status callbacks map to our statuses; queued and accepted are not news")
    func statusCallbacks() throws {
        func decode(_ status: String, errorCode: String? = nil) throws -> [InboundEvent] {
            var form = [("MessageSid", "SM9"), ("MessageStatus", status), ("AccountSid", settings.accountSid)]
            if let errorCode { form.append(("ErrorCode", errorCode)) }
            return try adapter.decode(signedRequest(form))
        }
        #expect(try decode("delivered") == [.statusUpdate(.init(channel: .sms, providerMessageId: "SM9", status: .delivered))])
        #expect(try decode("read") == [.statusUpdate(.init(channel: .sms, providerMessageId: "SM9", status: .read))])
        let failed = try decode("undelivered", errorCode: "30003")
        guard case .statusUpdate(let update) = failed.first else {
            Issue.record("expected a status update")
            return
        }
        #expect(update.status == .failed)
        #expect(update.error?.code == "twilio_30003")
        if case .ignored = try decode("queued").first {} else { Issue.record("queued should be ignored") }
    }

    @Test("a reply renders as Twilio's form: To, From, Body, MediaUrl, StatusCallback, basic auth")
    func rendersSend() throws {
        let request = try adapter.render(OutboundEnvelope(
            messageId: "msg_1", recipientAddress: "+15551230000",
            content: Content(text: "Pick one", attachments: [.init(kind: .image, url: "https://x.example/a.png")],
                             quickReplies: [.init(title: "Yes", payload: "YES"), .init(title: "No", payload: "NO")])))
        #expect(request.method == "POST")
        #expect(request.url == "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json")
        let auth = Data("AC00000000000000000000000000000000:token".utf8).base64EncodedString()
        #expect(request.headers.contains(ProviderHeader("Authorization", "Basic " + auth)))
        let form = try FormURLEncoding.decode(request.body)
        #expect(form.map(\.0) == ["To", "From", "Body", "MediaUrl", "StatusCallback"])
        #expect(form[2].1 == "Pick one\nReply 1 for Yes, 2 for No")
        #expect(form[4].1 == "https://gw.example/webhooks/twilio/status")
    }

    @Test("text over 1600 characters is refused, not truncated")
    func tooLong() {
        #expect(throws: MessageError.self) {
            try adapter.render(OutboundEnvelope(
                messageId: "m", recipientAddress: "+15551230000", content: Content(text: String(repeating: "a", count: 1601))))
        }
    }

    @Test("answers: 201 accepted, 429 retry after, 5xx retry, 21610 unsubscribed, 21211 permanent")
    func interpretsAnswers() {
        func response(_ status: Int, _ body: String, headers: [ProviderHeader] = []) -> ProviderResponse {
            ProviderResponse(status: status, headers: headers, body: Array(body.utf8))
        }
        #expect(adapter.interpret(response(201, #"{"sid":"SMabc","status":"queued"}"#))
            == .accepted(providerMessageId: "SMabc", status: .sent))
        #expect(adapter.interpret(response(429, #"{"code":20429,"message":"Too Many Requests","status":429}"#, headers: [ProviderHeader("Retry-After", "7")]))
            == .retry(MessageError(code: "twilio_20429", message: "Too Many Requests"), retryAfterSeconds: 7))
        #expect(adapter.interpret(response(503, "upstream down"))
            == .retry(MessageError(code: "twilio_http_503", message: "Twilio answered HTTP 503"), retryAfterSeconds: nil))
        #expect(adapter.interpret(response(400, #"{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400}"#))
            == .failed(MessageError(code: "twilio_21610", message: "Attempt to send to unsubscribed recipient"), unsubscribed: true))
        #expect(adapter.interpret(response(400, #"{"code":21211,"message":"The 'To' number 5551234567 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#))
            == .failed(MessageError(code: "twilio_21211", message: "The 'To' number 5551234567 is not a valid phone number."), unsubscribed: false))
    }
}

@Suite("Twilio rendering")
struct TwilioRenderingTests {
    @Test("without MMS, media goes as links in the text; a location as a map link")
    func noMMS() throws {
        var settings = TwilioSettings(
            accountSid: "AC1", authToken: "t", from: "+15550001111", messagingServiceSid: nil, apiBaseURL: "https://api.twilio.com",
            statusCallbackURL: "https://gw.example/webhooks/twilio/status")
        settings.mms = false
        let adapter = TwilioSMSAdapter(settings: settings)
        let request = try adapter.render(OutboundEnvelope(
            messageId: "m", recipientAddress: "+15551230000",
            content: Content(text: "Here", attachments: [.init(kind: .image, url: "https://x.example/a.png")],
                             location: .init(latitude: 51.5, longitude: -0.12, label: "Shop"))))
        let form = try FormURLEncoding.decode(request.body)
        #expect(!form.contains { $0.0 == "MediaUrl" })
        #expect(form.first { $0.0 == "Body" }?.1 == "Here\nhttps://x.example/a.png\nShop\nhttps://maps.google.com/?q=51.5,-0.12")
    }
}
