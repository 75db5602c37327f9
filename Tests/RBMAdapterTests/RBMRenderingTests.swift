import Foundation
import SwitchboardCore
import Testing
@testable import RBMAdapter

/// The degradation table of docs/outbound.md, RCS rows.
@Suite("RBM rendering by capability")
struct RBMRenderingTests {
    let all: Set<String> = ["RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_DIAL", "ACTION_OPEN_URL"]
    let photo = Content.Attachment(kind: .image, url: "https://x.example/a.jpg", mimeType: "image/jpeg", name: "Sneakers")
    let second = Content.Attachment(kind: .image, url: "https://x.example/b.jpg", name: "Boots")

    @Test("one attachment: a standalone card with the text as description, or text with the link without cards")
    func standalone() throws {
        let content = Content(text: "New in", attachments: [photo])
        let card = try RBMAdapter.contentMessage(content, features: all)
        let standalone = try #require((card["richCard"] as? [String: Any])?["standaloneCard"] as? [String: Any])
        let cardContent = try #require(standalone["cardContent"] as? [String: Any])
        #expect(cardContent["title"] as? String == "Sneakers")
        #expect(cardContent["description"] as? String == "New in")
        let plain = try RBMAdapter.contentMessage(content, features: [])
        #expect(plain["text"] as? String == "New in\nhttps://x.example/a.jpg")
        #expect(plain["richCard"] == nil)
        let fileOnly = try RBMAdapter.contentMessage(Content(attachments: [photo]), features: [])
        #expect((fileOnly["contentInfo"] as? [String: Any])?["fileUrl"] as? String == "https://x.example/a.jpg")
    }

    @Test("several attachments: a carousel; without carousels, one card and the rest as links")
    func carousel() throws {
        let content = Content(text: "Pick one", attachments: [photo, second])
        let carousel = try RBMAdapter.contentMessage(content, features: all)
        let cards = try #require(((carousel["richCard"] as? [String: Any])?["carouselCard"] as? [String: Any])?["cardContents"] as? [[String: Any]])
        #expect(cards.count == 2)
        #expect(cards[0]["description"] as? String == "Pick one")
        let degraded = try RBMAdapter.contentMessage(content, features: ["RICHCARD_STANDALONE"])
        let cardContent = try #require(((degraded["richCard"] as? [String: Any])?["standaloneCard"] as? [String: Any])?["cardContent"] as? [String: Any])
        #expect(cardContent["description"] as? String == "Pick one\nhttps://x.example/b.jpg")
    }

    @Test("URL and tel: quick replies become actions where supported, reply chips otherwise; at most 11, text at most 25")
    func suggestions() throws {
        let replies = [
            Content.QuickReply(title: "Website", payload: "https://example.com"),
            .init(title: "Call us", payload: "tel:+15556667777"),
        ] + (1...12).map { Content.QuickReply(title: "A rather long option title \($0)", payload: "P\($0)") }
        let rich = try RBMAdapter.contentMessage(Content(text: "Choose", quickReplies: replies), features: all)
        let chips = try #require(rich["suggestions"] as? [[String: Any]])
        #expect(chips.count == 11)
        #expect(((chips[0]["action"] as? [String: Any])?["openUrlAction"] as? [String: String])?["url"] == "https://example.com")
        #expect(((chips[1]["action"] as? [String: Any])?["dialAction"] as? [String: String])?["phoneNumber"] == "+15556667777")
        let title = try #require((chips[2]["reply"] as? [String: String])?["text"])
        #expect(title.count == 25)
        #expect(title.hasSuffix("…"))
        let basic = try RBMAdapter.contentMessage(Content(text: "Choose", quickReplies: Array(replies.prefix(2))), features: [])
        let plainChips = try #require(basic["suggestions"] as? [[String: Any]])
        #expect((plainChips[0]["reply"] as? [String: String])?["postbackData"] == "https://example.com")
    }

    @Test("capability answers: features, 404 not capable, 503 transient")
    func capabilities() {
        let adapter = RBMAdapter(settings: RBMSettings(agentId: "a", clientToken: "c", accessToken: "t", apiBaseURL: "https://rbm.example"))
        #expect(adapter.capabilityRequest(phone: "+15551230000", requestId: "r1").url
            == "https://rbm.example/v1/phones/+15551230000/capabilities?requestId=r1&agentId=a")
        #expect(adapter.interpretCapabilities(ProviderResponse(status: 200, headers: [], body: Array(#"{"features":["RICHCARD_STANDALONE","ACTION_DIAL"]}"#.utf8)))
            == .capable(features: ["RICHCARD_STANDALONE", "ACTION_DIAL"]))
        #expect(adapter.interpretCapabilities(ProviderResponse(status: 404, headers: [], body: [])) == .notCapable)
        if case .failed(_, let transient) = adapter.interpretCapabilities(ProviderResponse(status: 503, headers: [], body: [])) {
            #expect(transient)
        } else {
            Issue.record("503 is a failed lookup")
        }
    }
}
