import Foundation
import SwitchboardCore
import Testing

@Suite("Normalized model JSON")
struct MessageJSONTests {
    let date = Timestamp.date(from: "2026-11-25T10:00:00.123Z")!

    func object(_ value: some Encodable) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: GatewayJSON.encoder().encode(value)) as! [String: Any]
    }

    @Test("a message encodes with the contract's names, ISO 8601 milliseconds, and no invented fields")
    func messageShape() throws {
        let message = Message(
            id: "msg_01JABC", contactId: "ct_01JABC", channel: .sms, direction: .inbound, author: .init(kind: .contact),
            content: Content(text: "hi"), status: .received, providerMessageId: "SM1", createdAt: date, updatedAt: date)
        let json = try object(message)
        #expect(Set(json.keys) == ["id", "contactId", "channel", "direction", "author", "content", "status", "providerMessageId", "createdAt", "updatedAt"])
        #expect(json["createdAt"] as? String == "2026-11-25T10:00:00.123Z")
        #expect(json["content"] as? [String: String] == ["text": "hi"])
        #expect(json["author"] as? [String: String] == ["kind": "contact"])
    }

    @Test("the contract's example message decodes and encodes back to the same JSON")
    func contractExampleRoundTrip() throws {
        let text = """
            {"id": "msg_01J0000000000000000000000", "contactId": "ct_01J0000000000000000000000", "channel": "rcs",
             "direction": "outbound", "author": {"kind": "agent", "name": "Grace"},
             "content": {"text": "Pick", "attachments": [{"kind": "image", "url": "https://x.example/a.png", "mimeType": "image/png"}],
                         "quickReplies": [{"title": "Yes", "payload": "YES"}], "location": {"latitude": 51.5, "longitude": -0.12, "label": "HQ"},
                         "postback": {"title": "Yes", "payload": "YES"}},
             "status": "failed", "providerMessageId": null, "error": {"code": "twilio_21211", "message": "bad number"},
             "createdAt": "2026-11-25T10:00:00.000Z", "updatedAt": "2026-11-25T10:00:01.500Z"}
            """
        let message = try GatewayJSON.decoder().decode(Message.self, from: Data(text.utf8))
        #expect(message.author == .init(kind: .agent, name: "Grace"))
        #expect(message.content.quickReplies == [.init(title: "Yes", payload: "YES")])
        #expect(message.error == MessageError(code: "twilio_21211", message: "bad number"))
        #expect(message.updatedAt.timeIntervalSince(message.createdAt) == 1.5)
        let again = try GatewayJSON.decoder().decode(Message.self, from: GatewayJSON.encoder().encode(message))
        #expect(again == message)
    }

    @Test("a contact always carries name, photoUrl and phone, null when unknown")
    func contactShape() throws {
        let contact = Contact(id: "ct_1", channels: [.init(channel: .sms, address: "+15551230000", lastUsedAt: date)], subscriptions: ["sms": true])
        let json = try object(contact)
        #expect(json["name"] is NSNull)
        #expect(json["photoUrl"] is NSNull)
        #expect(json["phone"] is NSNull)
        #expect(json["botEnabled"] as? Bool == true)
        #expect(json["subscriptions"] as? [String: Bool] == ["sms": true])
        #expect((json["channels"] as? [[String: Any]])?.first?["lastUsedAt"] as? String == "2026-11-25T10:00:00.123Z")
        #expect(json["rcs"] == nil)
    }

    @Test("timestamps: format with milliseconds, parse with or without fraction and with offsets")
    func timestamps() {
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_764_064_800.007)) == "2025-11-25T10:00:00.007Z")
        #expect(Timestamp.date(from: "2025-11-25T10:00:00Z") == Date(timeIntervalSince1970: 1_764_064_800))
        #expect(Timestamp.date(from: "2025-11-25T12:00:00+02:00") == Date(timeIntervalSince1970: 1_764_064_800))
        #expect(Timestamp.date(from: "2014-10-02T15:01:23.045123456Z")!.timeIntervalSince1970 > 1_412_262_083.04)
        #expect(Timestamp.date(from: "yesterday") == nil)
        #expect(Timestamp.date(from: "2025-13-25T10:00:00Z") == nil)
    }

    @Test("statuses only move forward; failed is final; delivered does not become failed")
    func statusOrder() {
        #expect(MessageStatus.queued.canMove(to: .sending))
        #expect(MessageStatus.sent.canMove(to: .read))
        #expect(!MessageStatus.read.canMove(to: .delivered))
        #expect(!MessageStatus.failed.canMove(to: .sent))
        #expect(MessageStatus.sent.canMove(to: .failed))
        #expect(!MessageStatus.delivered.canMove(to: .failed))
    }
}
