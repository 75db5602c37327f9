import Foundation
import SwitchboardCore
import Testing
@testable import TwilioSMSAdapter

/// Cards and actions over SMS/MMS: text with numbered replies and links, the first card's picture
/// as MMS media where the sender sends MMS (https://www.twilio.com/docs/sms/api/message-resource: MediaUrl).
@Suite("Twilio: cards and actions as text")
struct TwilioRichContentTests {
    func adapter(mms: Bool) -> TwilioSMSAdapter {
        var settings = TwilioSettings(
            accountSid: "AC00000000000000000000000000000000", authToken: "token", from: "+15550001111", messagingServiceSid: nil,
            apiBaseURL: "https://api.twilio.com", statusCallbackURL: "https://gw.example/webhooks/twilio/status")
        settings.mms = mms
        return TwilioSMSAdapter(settings: settings)
    }

    let carousel = Content(text: "Winter picks", cards: [
        .init(title: "Boots", description: "Warm and dry", media: .init(url: "https://shop.example/boots.jpg", mimeType: "image/jpeg"),
              actions: [.reply(title: "Buy boots", payload: "BUY_BOOTS"), .openUrl(title: "Details", url: "https://shop.example/boots")]),
        .init(title: "Scarf", media: .init(url: "https://shop.example/scarf.jpg"), actions: [.reply(title: "Buy scarf", payload: "BUY_SCARF")]),
    ])

    func form(_ content: Content, mms: Bool) throws -> [(String, String)] {
        try adapter(mms: mms).sendForm(OutboundEnvelope(messageId: "msg_1", recipientAddress: "+15551234567", content: content))
    }

    @Test("with MMS: the first card's picture as MediaUrl, the rest as text with links and numbered replies")
    func mms() throws {
        let form = try form(carousel, mms: true)
        #expect(form.filter { $0.0 == "MediaUrl" }.map(\.1) == ["https://shop.example/boots.jpg"])
        #expect(form.first { $0.0 == "Body" }?.1 == """
            Winter picks

            Boots
            Warm and dry
            Details: https://shop.example/boots

            Scarf
            https://shop.example/scarf.jpg
            Reply 1 for Buy boots, 2 for Buy scarf
            """)
    }

    @Test("without MMS: every picture as a link")
    func sms() throws {
        let form = try form(carousel, mms: false)
        #expect(!form.contains { $0.0 == "MediaUrl" })
        let body = try #require(form.first { $0.0 == "Body" }?.1)
        #expect(body.contains("Warm and dry\nhttps://shop.example/boots.jpg\nDetails: https://shop.example/boots"))
    }

    @Test("cards that as text pass 1,600 characters are refused before queueing")
    func tooLong() {
        let cards = (1...10).map { Content.Card(title: "Card \($0)", description: String(repeating: "d", count: 200)) }
        #expect(adapter(mms: true).contentProblem(Content(cards: cards))?.code == "content_too_long")
        #expect(adapter(mms: true).contentProblem(carousel) == nil)
    }
}
