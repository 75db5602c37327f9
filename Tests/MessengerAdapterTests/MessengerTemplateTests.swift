import FixtureSupport
import Foundation
import SwitchboardCore
import Testing
@testable import MessengerAdapter

/// Cards and actions on Messenger: the generic template, the button template, quick replies.
/// Shapes: https://developers.facebook.com/docs/messenger-platform/reference/templates/generic,
/// https://developers.facebook.com/docs/messenger-platform/reference/templates/button,
/// https://developers.facebook.com/docs/messenger-platform/reference/buttons/url (postback, call).
@Suite("Messenger templates")
struct MessengerTemplateTests {
    let adapter = MessengerAdapter(settings: MessengerSettings(
        appSecret: "s", verifyToken: "v", pageAccessToken: "p", pageId: "1", apiBaseURL: "https://graph.example", apiVersion: "v21.0"))
    let boots = Content.Card(
        title: "Boots", description: "Warm and dry", media: .init(url: "https://shop.example/boots.jpg", mimeType: "image/jpeg"),
        actions: [.reply(title: "Buy boots", payload: "BUY_BOOTS"), .openUrl(title: "Details", url: "https://shop.example/boots"),
                  .dial(title: "Call the shop", phone: "+15556667777")])

    func message(_ content: Content) throws -> [String: Any] {
        let request = try adapter.render(OutboundEnvelope(messageId: "msg_1", recipientAddress: "PSID1", content: content))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        return try #require(body["message"] as? [String: Any])
    }

    func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("cards: a generic template, one element a card, postback, web_url and phone_number buttons")
    func generic() throws {
        let scarf = Content.Card(title: "Scarf", actions: [.viewLocation(title: "Find a store", latitude: 1.5, longitude: 2.5, label: nil)])
        let generic = try message(Content(text: "Winter picks", cards: [boots, scarf]))
        #expect(try json(generic) == (try json([
            "attachment": ["type": "template", "payload": ["template_type": "generic", "elements": [
                ["title": "Boots", "subtitle": "Winter picks\nWarm and dry", "image_url": "https://shop.example/boots.jpg", "buttons": [
                    ["type": "postback", "title": "Buy boots", "payload": "BUY_BOOTS"],
                    ["type": "web_url", "title": "Details", "url": "https://shop.example/boots"],
                    ["type": "phone_number", "title": "Call the shop", "payload": "+15556667777"],
                ]],
                ["title": "Scarf", "buttons": [["type": "web_url", "title": "Find a store", "url": "https://maps.google.com/?q=1.5,2.5"]]],
            ]]],
        ])))
    }

    @Test("actions on the message: a button template; replies alone: quick replies; a calendar event as a Google Calendar link")
    func buttonTemplate() throws {
        let calendar = Content.Action.calendar(
            title: "Save the date", startTime: "2026-12-24T18:00:00Z", endTime: "2026-12-24T20:00:00Z", eventTitle: "Late opening", description: nil)
        let buttonMessage = try message(Content(text: "We open late", actions: [.openUrl(title: "Hours", url: "https://shop.example/hours"), calendar]))
        let payload = try #require((buttonMessage["attachment"] as? [String: Any])?["payload"] as? [String: Any])
        #expect(payload["template_type"] as? String == "button")
        #expect(payload["text"] as? String == "We open late")
        let buttons = try #require(payload["buttons"] as? [[String: String]])
        #expect(buttons[1]["url"] == "https://calendar.google.com/calendar/render?action=TEMPLATE&text=Late+opening&dates=20261224T180000Z/20261224T200000Z")
        let replies = try message(Content(text: "Size?", quickReplies: [.init(title: "S", payload: "S")], actions: [.reply(title: "M", payload: "M")]))
        #expect(replies["text"] as? String == "Size?")
        #expect((replies["quick_replies"] as? [[String: String]])?.map { $0["payload"] } == ["S", "M"])
    }

    @Test("what Messenger cannot carry is refused naming the part: a location request, a fourth button, cards with attachments")
    func refusals() {
        let share = adapter.contentProblem(Content(text: "Where are you?", actions: [.shareLocation(title: "Share")]))
        #expect(share?.code == "not_supported_on_channel")
        #expect(share?.message.hasPrefix("messenger: actions[0]: Messenger cannot ask for a location") == true)
        var crowded = boots
        crowded.actions.append(.reply(title: "Later", payload: "LATER"))
        #expect(adapter.contentProblem(Content(cards: [crowded]))?.message == "messenger: cards[0].actions: at most 3 buttons a card")
        let long = Content.Card(title: String(repeating: "x", count: 81))
        #expect(adapter.contentProblem(Content(cards: [long]))?.message == "messenger: cards[0].title: at most 80 characters")
        #expect(adapter.contentProblem(Content(attachments: [.init(kind: .image, url: "https://a.example/x.png")], cards: [boots])) != nil)
        #expect(throws: MessageError.self) { try adapter.render(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: Content(cards: [crowded]))) }
        #expect(adapter.contentProblem(Content(text: "Winter", cards: [boots])) == nil)
    }

    /// Every key path of a JSON value with the kind of value there.
    static func paths(_ value: Any, path: String = "") -> Set<String> {
        switch value {
        case let object as [String: Any]:
            return object.reduce(into: [path]) { $0.formUnion(paths($1.value, path: path + "/" + $1.key)) }
        case let array as [Any]:
            return array.reduce(into: [path + "[]"]) { $0.formUnion(paths($1, path: path + "[]")) }
        default:
            return [path]
        }
    }

    @Test("the generic and button templates have the documented examples' shapes (Tests/Fixtures/messenger)")
    func documentedShapes() throws {
        let generic = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("messenger/send-generic-template.json"))) as? [String: Any])
        let documented = Self.paths(try #require(generic["message"]))
        let card = Content.Card(
            title: "Welcome!", description: "We have the right hat for everyone.",
            media: .init(url: "https://shop.example/hat.jpg", mimeType: "image/jpeg"),
            actions: [.openUrl(title: "View Website", url: "https://shop.example"), .reply(title: "Start Chatting", payload: "START")])
        var content = Content()
        content.cards = [card]
        let ours = Self.paths(try message(content))
        // Every key we write is one the documented example has (it also has default_action).
        #expect(ours.subtracting(documented).isEmpty, "\(ours.subtracting(documented).sorted())")
        let button = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.bytes("messenger/send-button-template.json"))) as? [String: Any])
        var actions = Content(text: "Try the postback button!")
        actions.actions = [.reply(title: "Postback Button", payload: "DEVELOPER_DEFINED_PAYLOAD"), .openUrl(title: "Site", url: "https://shop.example")]
        #expect(Self.paths(try message(actions)).subtracting(Self.paths(try #require(button["message"]))).subtracting(["/attachment/payload/buttons[]/url"]).isEmpty)
    }

    @Test("a card with nothing beside its title is refused: Meta wants one more property")
    func titleOnly() {
        var content = Content()
        content.cards = [Content.Card(title: "Only a title", description: nil, media: nil, actions: [])]
        #expect(throws: MessageError.self) { try adapter.render(OutboundEnvelope(messageId: "m", recipientAddress: "P", content: content)) }
        #expect(adapter.contentProblem(content)?.message.contains("beside its title") == true)
    }
}
