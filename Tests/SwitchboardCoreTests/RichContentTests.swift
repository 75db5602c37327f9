import Foundation
import SwitchboardCore
import Testing

/// Cards and actions in the normalized content (the contract's shapes), their rules, and their text form.
@Suite("Rich content: cards and actions")
struct RichContentTests {
    static let contractJSON = #"""
        {"text":"Our winter picks",
         "cards":[
           {"title":"Boots","description":"Warm and dry","media":{"url":"https://shop.example/boots.jpg","mimeType":"image/jpeg","height":"medium"},
            "actions":[{"kind":"reply","title":"Buy boots","payload":"BUY_BOOTS"},{"kind":"openUrl","title":"Details","url":"https://shop.example/boots"}]},
           {"title":"Scarf","actions":[{"kind":"dial","title":"Call the shop","phone":"+15556667777"}]}],
         "actions":[
           {"kind":"shareLocation","title":"Nearest store"},
           {"kind":"viewLocation","title":"Our store","latitude":48.8584,"longitude":2.2945,"label":"Paris"},
           {"kind":"calendar","title":"Save the date","startTime":"2026-12-24T18:00:00Z","endTime":"2026-12-24T20:00:00Z","eventTitle":"Late opening","description":"Until 8 pm"}]}
        """#

    @Test("the contract's JSON decodes into cards and actions and encodes back to the same shape")
    func roundTrip() throws {
        let content = try JSONDecoder().decode(Content.self, from: Data(Self.contractJSON.utf8))
        #expect(content.cards.count == 2)
        #expect(content.cards[0].media == Content.CardMedia(url: "https://shop.example/boots.jpg", mimeType: "image/jpeg", height: .medium))
        #expect(content.cards[0].actions == [.reply(title: "Buy boots", payload: "BUY_BOOTS"), .openUrl(title: "Details", url: "https://shop.example/boots")])
        #expect(content.cards[1].actions == [.dial(title: "Call the shop", phone: "+15556667777")])
        #expect(content.actions[1] == .viewLocation(title: "Our store", latitude: 48.8584, longitude: 2.2945, label: "Paris"))
        #expect(content.isRich)
        let stored = try ContentJSON.encode(content)
        #expect(try ContentJSON.decode(stored) == content)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any])
        let actions = try #require(object["actions"] as? [[String: Any]])
        #expect(actions.map { $0["kind"] as? String } == ["shareLocation", "viewLocation", "calendar"])
        #expect(actions[2]["eventTitle"] as? String == "Late opening")
        // A card without actions leaves the key out, as empty lists are.
        let plain = try ContentJSON.encode(Content(cards: [.init(title: "Only a title")]))
        #expect(plain == #"{"cards":[{"title":"Only a title"}]}"#)
    }

    @Test("an unknown action kind or a missing field is a decoding error that names it")
    func decodingErrors() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Content.self, from: Data(#"{"actions":[{"kind":"teleport","title":"Go"}]}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Content.self, from: Data(#"{"actions":[{"kind":"openUrl","title":"Go"}]}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Content.self, from: Data(#"{"cards":[{"media":{"url":"https://a.example/x.png","height":"huge"}}]}"#.utf8))
        }
    }

    @Test("the rules refuse what no channel can carry, naming the part")
    func rules() throws {
        let content = try JSONDecoder().decode(Content.self, from: Data(Self.contractJSON.utf8))
        #expect(RichContentRules.problem(content) == nil)
        func problem(_ change: (inout Content) -> Void) -> MessageError? {
            var changed = content
            change(&changed)
            return RichContentRules.problem(changed)
        }
        #expect(problem { $0.cards = Array(repeating: .init(title: "x"), count: 11) }?.code == "invalid_card")
        #expect(problem { $0.cards[1] = .init() }?.message == "cards[1]: a card needs a title, a description or media")
        #expect(problem { $0.cards[0].media?.url = "http://shop.example/boots.jpg" }?.message.hasPrefix("cards[0].media.url") == true)
        #expect(problem { $0.cards[0].actions[1] = .openUrl(title: "Details", url: "javascript:alert(1)") }?.code == "invalid_url")
        #expect(problem { $0.cards[1].actions[0] = .dial(title: "Call", phone: "555-0100") }?.message
            == "cards[1].actions[0]: a dial action needs an E.164 phone number such as +15551234567")
        #expect(problem { $0.actions[1] = .viewLocation(title: "There", latitude: 91, longitude: 0, label: nil) }?.code == "invalid_action")
        #expect(problem {
            $0.actions[2] = .calendar(title: "Save", startTime: "2026-12-24T20:00:00Z", endTime: "2026-12-24T18:00:00Z", eventTitle: "x", description: nil)
        }?.message == "actions[2]: calendar endTime must be after startTime")
        #expect(problem { $0.actions[0] = .shareLocation(title: "") }?.message == "actions[0]: an action needs a title")
        #expect(problem { $0.location = .init(latitude: 1, longitude: 2, label: nil) }?.code == "invalid_location")
        #expect(problem { $0.actions[0] = .reply(title: "A title of more than twenty-five", payload: "P") }?.code == "invalid_action")
        #expect(problem { $0.cards[0].actions += [.shareLocation(title: "a"), .shareLocation(title: "b"), .shareLocation(title: "c")] }?.message
            == "cards[0].actions: at most 4 a card")
        // Actions alone carry nothing to show: a message needs text, a card, an attachment or a location.
        #expect(OutboundPolicy.contentProblem(Content(actions: [.shareLocation(title: "Where?")]), channel: .rcs)?.code == "empty_content")
        #expect(OutboundPolicy.contentProblem(Content(cards: [.init(title: "A card")]), channel: .rcs) == nil)
    }

    @Test("as text: cards as blocks, actions as lines, replies numbered after the quick replies")
    func text() throws {
        let content = try JSONDecoder().decode(Content.self, from: Data(Self.contractJSON.utf8))
        #expect(RichContentText.replyChoices(content) == [.init(title: "Buy boots", payload: "BUY_BOOTS")])
        #expect(RichContentText.text(content) == """
            Our winter picks

            Boots
            Warm and dry
            https://shop.example/boots.jpg
            Details: https://shop.example/boots

            Scarf
            Call the shop: +15556667777

            Nearest store: reply with your location
            Our store: Paris https://maps.google.com/?q=48.8584,2.2945
            Save the date: Late opening, 2026-12-24T18:00:00Z to 2026-12-24T20:00:00Z. Until 8 pm
            Reply 1 for Buy boots
            """)
        // A picture sent as media (MMS) is not repeated as a link.
        #expect(!RichContentText.text(content, carriedMedia: ["https://shop.example/boots.jpg"]).contains("boots.jpg"))
        let withQuickReplies = Content(text: "Size?", quickReplies: [.init(title: "S", payload: "S")], actions: [.reply(title: "M", payload: "M")])
        #expect(RichContentText.text(withQuickReplies) == "Size?\nReply 1 for S, 2 for M")
        #expect(NumberedChoice.postback(for: "2", among: RichContentText.replyChoices(withQuickReplies)) == .init(title: "M", payload: "M"))
    }
}
