import Foundation
import SwitchboardCore
import Testing
@testable import RBMAdapter

/// Cards and actions on RCS, by the phone's features (docs/outbound.md, "Cards and actions").
/// Shapes: https://developers.google.com/business-communications/rcs-business-messaging/reference/rest/v1/phones.agentMessages
/// (AgentContentMessage: richCard.standaloneCard / carouselCard, CardContent, Suggestion, SuggestedAction).
@Suite("RBM rich cards and suggested actions")
struct RBMRichCardTests {
    static let everything: Set<String> = [
        "RICHCARD_STANDALONE", "RICHCARD_CAROUSEL", "ACTION_CREATE_CALENDAR_EVENT", "ACTION_DIAL", "ACTION_OPEN_URL",
        "ACTION_SHARE_LOCATION", "ACTION_VIEW_LOCATION",
    ]
    let boots = Content.Card(
        title: "Boots", description: "Warm and dry", media: .init(url: "https://shop.example/boots.jpg", mimeType: "image/jpeg", height: .tall),
        actions: [.reply(title: "Buy boots", payload: "BUY_BOOTS"), .openUrl(title: "Details", url: "https://shop.example/boots")])
    let scarf = Content.Card(title: "Scarf", actions: [.dial(title: "Call the shop", phone: "+15556667777")])

    func json(_ message: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("two cards on a phone with RICHCARD_CAROUSEL: a carousel card, actions as suggested actions")
    func carousel() throws {
        let message = try RBMAdapter.contentMessage(Content(text: "Winter picks", cards: [boots, scarf]), features: Self.everything)
        let carousel = try #require((message["richCard"] as? [String: Any])?["carouselCard"] as? [String: Any])
        #expect(carousel["cardWidth"] as? String == "MEDIUM")
        let cards = try #require(carousel["cardContents"] as? [[String: Any]])
        #expect(cards.count == 2)
        #expect(try json(cards[0]) == (try json([
            "title": "Boots", "description": "Winter picks\nWarm and dry",
            "media": ["height": "TALL", "contentInfo": ["fileUrl": "https://shop.example/boots.jpg", "forceRefresh": false]],
            "suggestions": [
                ["reply": ["text": "Buy boots", "postbackData": "BUY_BOOTS"]],
                ["action": ["text": "Details", "postbackData": "openUrl:Details", "openUrlAction": ["url": "https://shop.example/boots"]]],
            ],
        ])))
        #expect(try json(cards[1]) == (try json([
            "title": "Scarf",
            "suggestions": [["action": ["text": "Call the shop", "postbackData": "dial:Call the shop", "dialAction": ["phoneNumber": "+15556667777"]]]],
        ])))
        #expect(message["text"] == nil)
    }

    @Test("one card on a phone with RICHCARD_STANDALONE: a vertical standalone card")
    func standalone() throws {
        let message = try RBMAdapter.contentMessage(Content(cards: [boots]), features: ["RICHCARD_STANDALONE"])
        let standalone = try #require((message["richCard"] as? [String: Any])?["standaloneCard"] as? [String: Any])
        #expect(standalone["cardOrientation"] as? String == "VERTICAL")
        let card = try #require(standalone["cardContent"] as? [String: Any])
        // Without ACTION_OPEN_URL the link is a line of the description; the reply stays a chip.
        #expect(card["description"] as? String == "Warm and dry\nDetails: https://shop.example/boots")
        #expect((card["suggestions"] as? [[String: Any]])?.count == 1)
    }

    @Test("without RICHCARD_CAROUSEL: the cards as text with links, every reply a chip")
    func withoutCarousel() throws {
        let content = Content(text: "Winter picks", cards: [boots, scarf])
        let message = try RBMAdapter.contentMessage(content, features: ["RICHCARD_STANDALONE", "ACTION_DIAL"])
        #expect(message["richCard"] == nil)
        #expect(message["text"] as? String == """
            Winter picks

            Boots
            Warm and dry
            https://shop.example/boots.jpg
            Details: https://shop.example/boots

            Scarf
            Call the shop: +15556667777
            """)
        let chips = try #require(message["suggestions"] as? [[String: Any]])
        #expect(chips.count == 1)
        #expect((chips[0]["reply"] as? [String: String]) == ["text": "Buy boots", "postbackData": "BUY_BOOTS"])
    }

    @Test("message actions: each kind as its SuggestedAction where the phone supports it, else a line")
    func messageActions() throws {
        let content = Content(text: "Visit us", actions: [
            .shareLocation(title: "Nearest store"),
            .viewLocation(title: "Our store", latitude: 48.8584, longitude: 2.2945, label: "Paris"),
            .calendar(title: "Save the date", startTime: "2026-12-24T18:00:00Z", endTime: "2026-12-24T20:00:00Z",
                      eventTitle: "Late opening", description: "Until 8 pm"),
        ])
        let message = try RBMAdapter.contentMessage(content, features: Self.everything)
        #expect(message["text"] as? String == "Visit us")
        let actions = try #require((message["suggestions"] as? [[String: Any]])?.compactMap { $0["action"] as? [String: Any] })
        #expect(actions.count == 3)
        #expect(actions[0]["shareLocationAction"] as? [String: Any] != nil)
        #expect(try json(actions[1]["viewLocationAction"] as? [String: Any] ?? [:])
            == (try json(["latLong": ["latitude": 48.8584, "longitude": 2.2945], "label": "Paris"])))
        #expect(try json(actions[2]["createCalendarEventAction"] as? [String: Any] ?? [:]) == (try json([
            "startTime": "2026-12-24T18:00:00Z", "endTime": "2026-12-24T20:00:00Z", "title": "Late opening", "description": "Until 8 pm",
        ])))
        let basic = try RBMAdapter.contentMessage(content, features: [])
        #expect((basic["text"] as? String)?.contains("Our store: Paris https://maps.google.com/?q=48.8584,2.2945") == true)
        #expect(basic["suggestions"] == nil)
    }

    @Test("more suggestions than a message holds are refused before any call, naming the limit")
    func tooManySuggestions() throws {
        let adapter = RBMAdapter(settings: RBMSettings(agentId: "a", clientToken: "c", accessToken: "t", apiBaseURL: "https://rbm.example"))
        let replies = (1...12).map { Content.Action.reply(title: "Option \($0)", payload: "P\($0)") }
        let problem = adapter.contentProblem(Content(text: "Pick", actions: replies))
        #expect(problem?.code == "invalid_action")
        #expect(problem?.message.contains("at most 11 suggestions") == true)
        #expect(adapter.contentProblem(Content(text: "Winter", cards: [boots, scarf])) == nil)
    }
}
