import FixtureSupport
import Foundation
import SwitchboardCore
import Testing
@testable import TwilioSMSAdapter

/// The lookup of an earlier send through Twilio's Messages list (see Tests/Fixtures/twilio/SOURCE.md).
@Suite("Twilio lookup of an earlier send")
struct TwilioMessageLookupTests {
    static let account = "AC00000000000000000000000000000000"
    let settings = TwilioSettings(
        accountSid: account, authToken: "token", from: "+15550001111", messagingServiceSid: nil,
        apiBaseURL: "https://api.twilio.com/", statusCallbackURL: "https://gw.example/webhooks/twilio/status")
    var adapter: TwilioSMSAdapter { TwilioSMSAdapter(settings: settings) }
    let envelope = OutboundEnvelope(
        messageId: "msg_01", recipientAddress: "+13455431221", content: Content(text: "Your order A-1001 has shipped"))

    func date(_ iso: String) throws -> Date {
        try #require(ISO8601DateFormatter().date(from: iso))
    }

    func listPage(status: Int = 200, _ body: [UInt8]) -> ProviderResponse {
        ProviderResponse(status: status, headers: [ProviderHeader("Content-Type", "application/json")], body: body)
    }

    @Test("the lookup lists messages to the recipient sent since the day of the first attempt, with the send's basic auth")
    func rendersTheListCall() throws {
        let request = adapter.renderLookup(envelope, since: try date("2026-11-30T13:00:00Z"))
        #expect(request.method == "GET")
        #expect(request.url == "https://api.twilio.com/2010-04-01/Accounts/\(Self.account)/Messages.json?To=%2B13455431221&DateSent%3E=2026-11-30&PageSize=100")
        #expect(request.body.isEmpty)
        let send = try adapter.render(envelope)
        #expect(request.headers.first { $0.name == "Authorization" } == send.headers.first { $0.name == "Authorization" })
        // Just after midnight the allowance for Twilio's clock reaches into the day before.
        let early = adapter.renderLookup(envelope, since: try date("2026-11-30T00:00:02Z"))
        #expect(early.url.contains("DateSent%3E=2026-11-29"))
    }

    @Test("matches are the same body to the same number from our sender, created since the first attempt, oldest first")
    func matchesOnBodyRecipientSenderAndDate() throws {
        let page = listPage(try Fixtures.bytes("twilio/list-messages.json"))
        let both = try adapter.interpretLookup(page, for: envelope, since: try date("2026-11-30T13:00:00Z"))
        #expect(both.matches == ["SM2222222222222222222222222222222b", "SM3333333333333333333333333333333c"])
        // The first was created 7 s before this attempt: beyond the clock allowance, not ours.
        let later = try adapter.interpretLookup(page, for: envelope, since: try date("2026-11-30T13:00:07Z"))
        #expect(later.matches == ["SM3333333333333333333333333333333c"])
        let afterBoth = try adapter.interpretLookup(page, for: envelope, since: try date("2026-11-30T13:00:20Z"))
        #expect(afterBoth.matches.isEmpty)
    }

    @Test("another body, another recipient, another sender or a Messaging Service we did not use: no match")
    func refusesOthers() throws {
        let page = listPage(try Fixtures.bytes("twilio/list-messages.json"))
        let since = try date("2026-11-30T12:00:00Z")
        var other = envelope
        other.content.text = "Your order A-1001 has shipped!"
        #expect(try adapter.interpretLookup(page, for: other, since: since).matches.isEmpty)
        other = envelope
        other.recipientAddress = "+13455430000"
        #expect(try adapter.interpretLookup(page, for: other, since: since).matches.isEmpty)
        var otherSender = settings
        otherSender.from = "+15550002222"
        #expect(try TwilioSMSAdapter(settings: otherSender).interpretLookup(page, for: envelope, since: since).matches.isEmpty)
        var service = settings
        service.messagingServiceSid = "MG00000000000000000000000000000000"
        #expect(try TwilioSMSAdapter(settings: service).interpretLookup(page, for: envelope, since: since).matches.isEmpty)
        var withMedia = envelope
        withMedia.content.attachments = [.init(kind: .image, url: "https://gw.example/m/1.jpg", mimeType: "image/jpeg")]
        #expect(try adapter.interpretLookup(page, for: withMedia, since: since).matches.isEmpty)
    }

    @Test("next_page_uri is followed on our account's list only")
    func followsPaging() throws {
        let page = try adapter.interpretLookup(
            listPage(try Fixtures.bytes("twilio/list-messages.json")), for: envelope, since: try date("2026-11-30T13:00:00Z"))
        let next = try #require(page.nextPage)
        #expect(next.method == "GET")
        #expect(next.url == "https://api.twilio.com/2010-04-01/Accounts/\(Self.account)/Messages.json?To=%2B13455431221&DateSent%3E=2026-11-30&PageSize=2&Page=1&PageToken=PASM2222222222222222222222222222222b")
        #expect(next.headers.contains { $0.name == "Authorization" })
        for elsewhere in ["https://evil.example/2010-04-01/Accounts/\(Self.account)/Messages.json?Page=1",
                          "/2010-04-01/Accounts/AC99999999999999999999999999999999/Messages.json?Page=1"] {
            let body = #"{"messages":[],"next_page_uri":"\#(elsewhere)"}"#
            #expect(try adapter.interpretLookup(listPage(Array(body.utf8)), for: envelope, since: Date()).nextPage == nil)
        }
        let last = try adapter.interpretLookup(listPage(Array(#"{"messages":[],"next_page_uri":null}"#.utf8)), for: envelope, since: Date())
        #expect(last == SentMessageLookupPage(matches: [], nextPage: nil))
    }

    @Test("an error answer or an unreadable list throws, with Twilio's code")
    func errors() throws {
        #expect(throws: MessageError(code: "twilio_20003", message: "Authenticate")) {
            try adapter.interpretLookup(
                listPage(status: 401, Array(#"{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#.utf8)),
                for: envelope, since: Date())
        }
        #expect(throws: MessageError.self) {
            try adapter.interpretLookup(listPage(Array("<html>".utf8)), for: envelope, since: Date())
        }
    }

    @Test("Twilio's RFC 2822 dates")
    func parsesDates() throws {
        let expected = try date("2010-08-13T01:16:24Z")
        #expect(TwilioSMSAdapter.rfc2822Date("Fri, 13 Aug 2010 01:16:24 +0000") == expected)
        #expect(TwilioSMSAdapter.rfc2822Date("Fri, 13 Aug 2010 03:16:24 +0200") == expected)
        #expect(TwilioSMSAdapter.rfc2822Date("2010-08-13T01:16:24Z") == nil)
        #expect(TwilioSMSAdapter.rfc2822Date("Fri, 13 Foo 2010 01:16:24 +0000") == nil)
    }
}
