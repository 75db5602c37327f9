import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

@Suite("RCS (RBM) inbound end to end")
struct RBMInboundTests {
    @Test("the clientToken/secret handshake answers the secret; a wrong token is refused")
    func handshake() async throws {
        try await TestEnvironment.with { env in
            let json = [(name: "Content-Type", value: "application/json")]
            let ok = try await env.raw("POST", "/webhooks/rbm", headers: json, body: Array(#"{"clientToken":"test-client-token","secret":"1234567890"}"#.utf8))
            #expect(ok.status == 200)
            #expect(ok.text == "1234567890")
            let wrong = try await env.raw("POST", "/webhooks/rbm", headers: json, body: Array(#"{"clientToken":"other","secret":"1"}"#.utf8))
            #expect(wrong.status == 403)
            #expect(wrong.errorCode == "bad_signature")
        }
    }

    @Test("a signed RCS message is stored once, marks the phone RCS capable, shares the SMS contact, and the reply names our id")
    func message() async throws {
        try await TestEnvironment.with { env in
            _ = try await env.sender.sendSMS(from: "+15551230020", text: "by sms")
            let first = try await env.sender.sendRCS(phone: "+15551230020", text: "by rcs", messageId: "rbm-1")
            let again = try await env.sender.sendRCS(phone: "+15551230020", text: "by rcs", messageId: "rbm-1")
            #expect(first.status == 200)
            #expect(again.status == 200)
            #expect(try await env.count("contacts") == 1)
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 2)
            let contact = try #require(try await env.gateway.store.contacts(limit: 1, cursor: nil).items.first)
            #expect(contact.rcs?.capable == true)
            #expect(Set(contact.channels.map(\.channel)) == [.sms, .rcs])
            #expect(contact.lastChannel == .rcs)

            try await eventually("the RCS reply is sent") {
                try await env.count("messages", where: "direction = 'outbound' AND channel = 'rcs' AND status = 'sent'") == 1
            }
            // The capability is looked up before the first RCS send (the inbound message proved RCS, not its features).
            let rbmRequests = await env.providerRequests().filter { $0.provider == "rbm" }
            #expect(rbmRequests.map(\.method) == ["GET", "POST"])
            #expect(rbmRequests.first?.path == "/v1/phones/+15551230020/capabilities")
            let request = try #require(rbmRequests.last)
            let reply = try #require(try await env.gateway.store.messages(contactId: contact.id, limit: 10, before: nil).items.last)
            #expect(request.path == "/v1/phones/+15551230020/agentMessages")
            #expect(reply.providerMessageId == reply.id)

            // DELIVERED then READ name our message id.
            for event in ["DELIVERED", "READ"] {
                let payload: [String: Any] = [
                    "senderPhoneNumber": "+15551230020", "eventType": event, "eventId": UUID().uuidString, "messageId": reply.id,
                    "sendTime": Timestamp.string(from: Date()), "agentId": "test-agent",
                ]
                #expect(try await env.sender.postRBM(payload: payload).status == 200)
            }
            #expect(try await env.gateway.store.message(id: reply.id)?.status == .read)
        }
    }

    @Test("a suggestion tap arrives as a postback; a wrong signature stores nothing")
    func suggestionAndRefusal() async throws {
        try await TestEnvironment.with(configure: { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }) { env in
            #expect(try await env.sender.sendRCS(phone: "+15551230021", text: "Yes", postbackData: "YES").status == 200)
            let contact = try #require(try await env.gateway.store.contacts(limit: 1, cursor: nil).items.first)
            let message = try #require(try await env.gateway.store.messages(contactId: contact.id, limit: 1, before: nil).items.first)
            #expect(message.content.postback == .init(title: "Yes", payload: "YES"))
            #expect(message.content.text == "Yes")
            let forged = try await env.sender.postRBM(payload: env.sender.rbmUserMessage(phone: "+15551230022", text: "x"), signature: "AAAA")
            #expect(forged.status == 403)
            #expect(try await env.count("contacts") == 1)
        }
    }
}
