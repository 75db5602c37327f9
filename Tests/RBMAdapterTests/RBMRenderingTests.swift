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

    @Test("URL and tel: quick replies become actions where supported, reply chips otherwise; more than 11 refused, text at most 25")
    func suggestions() throws {
        let replies = [
            Content.QuickReply(title: "Website", payload: "https://example.com"),
            .init(title: "Call us", payload: "tel:+15556667777"),
        ] + (1...9).map { Content.QuickReply(title: "A rather long option title \($0)", payload: "P\($0)") }
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
        // A twelfth chip, or a payload longer than postbackData, is refused by name, never cut.
        let adapter = RBMAdapter(settings: RBMSettings(agentId: "a", clientToken: "c", accessToken: "t", apiBaseURL: "https://rbm.example"))
        let twelve = Content(text: "Choose", quickReplies: replies + [.init(title: "Twelve", payload: "P12")])
        #expect(adapter.contentProblem(twelve)?.message == "rcs: at most 11 quick replies on a message; this one has 12")
        #expect(throws: MessageError.self) { try RBMAdapter.contentMessage(twelve, features: all) }
        let longPayload = Content(text: "Choose", quickReplies: [.init(title: "Yes", payload: String(repeating: "p", count: 2049))])
        #expect(adapter.contentProblem(longPayload)?.message == "rcs: quickReplies[0].payload: at most 2048 characters")
    }

    @Test("nothing of plain content is dropped: replies past a card's 4 go under it, 11 pictures are no carousel, long text and places go as text")
    func nothingDropped() throws {
        let replies = (1...5).map { Content.QuickReply(title: "Size \($0)", payload: "S\($0)") }
        let five = try RBMAdapter.contentMessage(Content(text: "Which size?", attachments: [photo], quickReplies: replies), features: all)
        let cardContent = try #require(((five["richCard"] as? [String: Any])?["standaloneCard"] as? [String: Any])?["cardContent"] as? [String: Any])
        #expect(cardContent["suggestions"] == nil)
        #expect((five["suggestions"] as? [[String: Any]])?.count == 5)
        let four = try RBMAdapter.contentMessage(Content(text: "Which size?", attachments: [photo], quickReplies: Array(replies.prefix(4))), features: all)
        let fourCard = try #require(((four["richCard"] as? [String: Any])?["standaloneCard"] as? [String: Any])?["cardContent"] as? [String: Any])
        #expect((fourCard["suggestions"] as? [[String: Any]])?.count == 4 && four["suggestions"] == nil)

        let eleven = (0..<11).map { Content.Attachment(kind: .image, url: "https://x.example/\($0).jpg") }
        let many = try RBMAdapter.contentMessage(Content(text: "All of them", attachments: eleven), features: all)
        let manyCard = try #require(((many["richCard"] as? [String: Any])?["standaloneCard"] as? [String: Any])?["cardContent"] as? [String: Any])
        #expect((manyCard["description"] as? String)?.components(separatedBy: "\n").count == 11)

        let longText = String(repeating: "x", count: 2500)
        let long = try RBMAdapter.contentMessage(Content(text: longText, attachments: [photo]), features: all)
        #expect(long["richCard"] == nil && long["text"] as? String == longText + "\nhttps://x.example/a.jpg")

        let place = try RBMAdapter.contentMessage(
            Content(text: "We are here", location: .init(latitude: 52.52, longitude: 13.405, label: "Bike shop")), features: all)
        #expect(place["text"] as? String == "We are here\nBike shop\nhttps://maps.google.com/?q=52.52,13.405")
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
