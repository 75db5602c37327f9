import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

/// One SMS conversation through every real layer: signed webhook → SQLite → echo bot → outbox →
/// libcurl → the simulator's fake Twilio API.
@Suite("SMS conversation end to end")
struct SMSConversationTests {
    @Test("a signed inbound SMS is stored and the echo reply reaches Twilio with the right form fields")
    func echoReply() async throws {
        try await TestEnvironment.with { env in
            let delivery = try await env.sender.sendSMS(from: "+15551230000", text: "hello there")
            #expect(delivery.status == 200)
            #expect(delivery.body == #"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#)
            // Acknowledged means committed: the inbound row is there the moment the 200 is.
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)

            try await eventually("the reply reaches the fake Twilio API") { await env.providerRequests().count == 1 }
            let sent = try #require(await env.providerRequests().first)
            #expect(sent.path == "/2010-04-01/Accounts/\(TestEnvironment.accountSid)/Messages.json")
            #expect(sent.responseStatus == 201)
            #expect(sent.formValue("To") == "+15551230000")
            #expect(sent.formValue("From") == TestEnvironment.ourNumber)
            #expect(sent.formValue("Body") == "You said: hello there")
            #expect(sent.formValue("StatusCallback") == TestEnvironment.publicURL + "/webhooks/twilio/status")

            // Through the API: one contact with both messages, the reply sent with Twilio's sid.
            let contacts = try await env.api("GET", "/api/v1/contacts").json()
            let items = try #require(contacts["items"] as? [[String: Any]])
            #expect(items.count == 1)
            let contact = try #require(items.first)
            #expect(contact["phone"] as? String == "+15551230000")
            #expect(contact["lastChannel"] as? String == "sms")
            let contactId = try #require(contact["id"] as? String)
            #expect(contactId.hasPrefix("ct_"))

            try await eventually("the reply is recorded as sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 1
            }
            let trail = try await env.api("GET", "/api/v1/contacts/\(contactId)/messages").json()
            let messages = try #require(trail["items"] as? [[String: Any]])
            #expect(messages.count == 2)
            #expect(messages.first?["direction"] as? String == "inbound")
            #expect((messages.first?["content"] as? [String: Any])?["text"] as? String == "hello there")
            #expect(messages.first?["providerMessageId"] as? String == delivery.providerMessageId)
            #expect(messages.last?["direction"] as? String == "outbound")
            #expect((messages.last?["author"] as? [String: Any])?["kind"] as? String == "bot")
            #expect(messages.last?["status"] as? String == "sent")
            #expect(messages.last?["providerMessageId"] as? String == sent.providerMessageId)
            #expect(try await env.count("outbox") == 0)
        }
    }

    @Test("the same MessageSid twice is acknowledged twice, stored once and answered once")
    func duplicateDelivery() async throws {
        try await TestEnvironment.with { env in
            let sid = "SM" + String(repeating: "a", count: 32)
            let first = try await env.sender.sendSMS(from: "+15551230001", text: "once", messageSid: sid)
            let second = try await env.sender.sendSMS(from: "+15551230001", text: "once", messageSid: sid)
            #expect(first.status == 200)
            #expect(second.status == 200)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 1)
            #expect(try await env.count("processed_provider_ids") == 1)

            // A third, different message proves the outbox has worked through everything queued
            // before it; the duplicate must not have added a reply.
            _ = try await env.sender.sendSMS(from: "+15551230001", text: "marker")
            try await eventually("both replies are sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 2
            }
            let bodies = await env.providerRequests().compactMap { $0.formValue("Body") }.sorted()
            #expect(bodies == ["You said: marker", "You said: once"])
        }
    }

    @Test("an inbound MMS stores its media as attachments")
    func mms() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }) { (env: TestEnvironment) async throws in
            let form = env.sender.twilioSMSForm(
                from: "+15551230004", text: "look",
                mediaURLs: [(url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", mimeType: "image/png"),
                            (url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", mimeType: "application/pdf")])
            #expect(try await env.sender.postTwilio(form: form).status == 200)
            let contact = try #require(try await env.gateway.store.contacts(limit: 1, cursor: nil).items.first)
            let message = try #require(try await env.gateway.store.messages(contactId: contact.id, limit: 1, before: nil).items.first)
            #expect(message.content.text == "look")
            #expect(message.content.attachments.map(\.kind) == [.image, .file])
            #expect(message.content.attachments.map(\.mimeType) == ["image/png", "application/pdf"])
        }
    }

    @Test("SMS and a later message from the same phone land on one contact, latest activity first")
    func contactsAreFoundByPhone() async throws {
        try await TestEnvironment.with { env in
            _ = try await env.sender.sendSMS(from: "+15551230002", text: "first")
            _ = try await env.sender.sendSMS(from: "+15551230003", text: "other person")
            _ = try await env.sender.sendSMS(from: "+15551230002", text: "again")
            #expect(try await env.count("contacts") == 2)
            try await eventually("replies are sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 3
            }
            // The newest activity (the reply to "again") puts +15551230002 first.
            let page = try await env.api("GET", "/api/v1/contacts?limit=1").json()
            let items = try #require(page["items"] as? [[String: Any]])
            #expect(items.first?["phone"] as? String == "+15551230002")
            let cursor = try #require(page["nextCursor"] as? String)
            let next = try await env.api("GET", "/api/v1/contacts?limit=1&cursor=\(cursor)").json()
            #expect((next["items"] as? [[String: Any]])?.first?["phone"] as? String == "+15551230003")
            #expect(next["nextCursor"] is NSNull)
        }
    }
}
