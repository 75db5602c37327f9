import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

@Suite("Messenger inbound end to end")
struct MessengerInboundTests {
    @Test("the GET handshake echoes hub.challenge for the right verify token, 403 otherwise")
    func handshake() async throws {
        try await TestEnvironment.with { env in
            let ok = try await env.raw("GET", "/webhooks/messenger?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=CHALLENGE_ACCEPTED")
            #expect(ok.status == 200)
            #expect(ok.text == "CHALLENGE_ACCEPTED")
            #expect(ok.header("Content-Type")?.hasPrefix("text/plain") == true)
            let wrong = try await env.raw("GET", "/webhooks/messenger?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=x")
            #expect(wrong.status == 403)
            #expect(wrong.errorCode == "bad_signature")
        }
    }

    @Test("a signed message is stored once, opens the 24-hour window, and the echo reply reaches the Send API")
    func message() async throws {
        try await TestEnvironment.with { env in
            let sent = Date()
            let event = env.sender.messengerMessageEvent(psid: "PSID-1", text: "hi page", mid: "m_first", timestamp: sent)
            #expect(try await env.sender.postMessenger(events: [event]).status == 200)
            #expect(try await env.sender.postMessenger(events: [event]).status == 200)
            #expect(try await env.count("messages", where: "direction = 'inbound' AND channel = 'messenger'") == 1)
            try await eventually("the reply reaches the fake Send API") {
                await env.providerRequests().contains { $0.provider == "messenger" && $0.responseStatus == 200 }
            }
            let request = try #require(await env.providerRequests().first { $0.provider == "messenger" })
            let body = try #require(try JSONSerialization.jsonObject(with: Data((request.json ?? "").utf8)) as? [String: Any])
            #expect((body["recipient"] as? [String: String])?["id"] == "PSID-1")
            #expect(body["messaging_type"] as? String == "RESPONSE")
            #expect((body["message"] as? [String: Any])?["text"] as? String == "You said: hi page")

            let contact = try #require(try await env.gateway.store.contacts(limit: 1, cursor: nil).items.first)
            #expect(contact.facebook?.psid == "PSID-1")
            #expect(contact.facebook?.pageId == TestEnvironment.pageId)
            let window = try #require(contact.facebook?.windowOpenUntil)
            #expect(abs(window.timeIntervalSince(sent) - 24 * 3600) < 1)
        }
    }

    @Test("a reaction to the page's reply lands on that message, in the API and the event stream; unreact takes it back")
    func reaction() async throws {
        try await TestEnvironment.with { env in
            _ = try await env.sender.postMessenger(events: [env.sender.messengerMessageEvent(psid: "PSID-R", text: "hi", mid: "m_r_in")])
            try await eventually("the reply reaches the fake Send API") {
                await env.providerRequests().contains { $0.provider == "messenger" && $0.providerMessageId != nil }
            }
            let mid = try #require(await env.providerRequests().first { $0.provider == "messenger" }?.providerMessageId)
            try await eventually("the send's answer is recorded") {
                (try? await env.gateway.store.outboundMessageId(channel: .messenger, providerMessageId: mid)) != nil
            }
            let replyId = try #require(try await env.gateway.store.outboundMessageId(channel: .messenger, providerMessageId: mid))
            let (events, end) = env.gateway.events.subscribe()
            defer { end() }
            let reacted: [String: Any] = [
                "sender": ["id": "PSID-R"], "recipient": ["id": TestEnvironment.pageId],
                "timestamp": 1_700_000_000_000.0,
                "reaction": ["reaction": "love", "emoji": "\u{2764}\u{FE0F}", "action": "react", "mid": mid],
            ]
            #expect(try await env.sender.postMessenger(events: [reacted]).status == 200)
            let message = try await env.api("GET", "/api/v1/messages/\(replyId)").json()
            let reaction = try #require(message["reaction"] as? [String: Any])
            #expect(reaction["emoji"] as? String == "\u{2764}\u{FE0F}" && reaction["name"] as? String == "love")
            #expect(reaction["at"] as? String == "2023-11-14T22:13:20.000Z")
            var live: GatewayEvent?
            for await event in events where event.type == .messageReaction { live = event; break }
            #expect(live?.message?.id == replyId && live?.message?.reaction?.name == "love")

            var unreact = reacted
            unreact["timestamp"] = 1_700_000_001_000.0
            unreact["reaction"] = ["action": "unreact", "mid": mid]
            #expect(try await env.sender.postMessenger(events: [unreact]).status == 200)
            #expect(try await env.api("GET", "/api/v1/messages/\(replyId)").json()["reaction"] == nil)

            // The simulator plays the same event (`simulate send --react-to`), on Messenger only.
            let wow = SimulatedInbound(from: "PSID-R", text: "", reaction: .init(to: mid, emoji: "😮"))
            #expect(try await env.sender.send(env.sender.webhook(for: wow, on: .messenger)).status == 200)
            let played = try #require(try await env.api("GET", "/api/v1/messages/\(replyId)").json()["reaction"] as? [String: Any])
            #expect(played["emoji"] as? String == "😮" && played["name"] as? String == "wow")
            #expect { try env.sender.webhook(for: wow, on: .sms) } throws: { error in
                (error as? InboundWebhookSender.Unsupported)?.description == "a simulated sms message cannot carry a reaction"
            }
        }
    }

    @Test("a batch of 100 events is stored in one acknowledgement; delivery and read watermarks move the replies")
    func batchAndWatermarks() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }) { (env: TestEnvironment) async throws in
            let events: [[String: Any]] = (0..<100).map { index in
                env.sender.messengerMessageEvent(psid: "PSID-\(index % 10)", text: "message \(index)", mid: "m_batch_\(index)")
            }
            #expect(try await env.sender.postMessenger(events: events).status == 200)
            #expect(try await env.count("messages", where: "channel = 'messenger'") == 100)
            #expect(try await env.count("contacts") == 10)
        }
        try await TestEnvironment.with { env in
            _ = try await env.sender.sendMessenger(psid: "PSID-W", text: "first")
            try await eventually("the reply is sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 1
            }
            let later = Int64(Date().addingTimeInterval(5).timeIntervalSince1970 * 1000)
            let delivery: [String: Any] = ["sender": ["id": "PSID-W"], "recipient": ["id": "1000000000000001"], "delivery": ["watermark": later]]
            #expect(try await env.sender.postMessenger(events: [delivery]).status == 200)
            #expect(try await env.count("messages", where: "direction = 'outbound' AND status = 'delivered'") == 1)
            let read: [String: Any] = ["sender": ["id": "PSID-W"], "recipient": ["id": "1000000000000001"], "timestamp": later, "read": ["watermark": later]]
            #expect(try await env.sender.postMessenger(events: [read, delivery]).status == 200)
            #expect(try await env.count("messages", where: "direction = 'outbound' AND status = 'read'") == 1)
        }
    }

    @Test("bad signature 403, malformed JSON 400, form body 415; nothing stored")
    func refusals() async throws {
        try await TestEnvironment.with { env in
            let event = env.sender.messengerMessageEvent(psid: "PSID-X", text: "forged")
            #expect(try await env.sender.postMessenger(events: [event], signature: "sha256=00").status == 403)
            let malformed = Array("{\"object\":".utf8)
            let signature = "sha256=" + HMACSignature.sha256Hex(key: TestEnvironment.appSecret, message: malformed)
            let bad = try await env.raw(
                "POST", "/webhooks/messenger",
                headers: [(name: "Content-Type", value: "application/json"), (name: "X-Hub-Signature-256", value: signature)], body: malformed)
            #expect(bad.status == 400)
            let form = try await env.raw(
                "POST", "/webhooks/messenger", headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")], body: Array("a=b".utf8))
            #expect(form.status == 415)
            #expect(try await env.count("messages") == 0)
        }
    }
}
