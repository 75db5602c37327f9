import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

@Suite("Twilio status callbacks")
struct StatusCallbackTests {
    @Test("signed callbacks move the reply forward; a late 'sent' after 'read' changes nothing")
    func forwardOnly() async throws {
        try await TestEnvironment.with { env in
            _ = try await env.sender.sendSMS(from: "+15551230010", text: "track me")
            try await eventually("the reply is sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 1
            }
            let sid = try #require(await env.providerRequests().first?.providerMessageId)
            func callback(_ status: String, errorCode: String? = nil) async throws -> Int {
                var form = [
                    ("MessageSid", sid), ("SmsSid", sid), ("MessageStatus", status), ("SmsStatus", status),
                    ("AccountSid", TestEnvironment.accountSid), ("From", TestEnvironment.ourNumber), ("To", "+15551230010"),
                    ("ApiVersion", "2010-04-01"),
                ]
                if let errorCode { form.append(("ErrorCode", errorCode)) }
                return try await env.sender.postTwilio(path: "/webhooks/twilio/status", form: form).status
            }
            func status() async throws -> String? {
                let messages = try await env.gateway.store.messages(contactId: try #require(await contactId(env)), limit: 10, before: nil)
                return messages.items.last?.status.rawValue
            }
            #expect(try await callback("delivered") == 200)
            #expect(try await status() == "delivered")
            #expect(try await callback("read") == 200)
            #expect(try await callback("sent") == 200)
            #expect(try await callback("undelivered", errorCode: "30003") == 200)
            #expect(try await status() == "read")
            // An unsigned callback is refused like any webhook.
            let unsigned = try await env.sender.postTwilio(
                path: "/webhooks/twilio/status", form: [("MessageSid", sid), ("MessageStatus", "failed")], signature: "x")
            #expect(unsigned.status == 403)
        }
    }

    @Test("a failure callback records Twilio's error code on the message")
    func failure() async throws {
        try await TestEnvironment.with { env in
            _ = try await env.sender.sendSMS(from: "+15551230011", text: "unlucky")
            try await eventually("the reply is sent") {
                try await env.count("messages", where: "direction = 'outbound' AND status = 'sent'") == 1
            }
            let sid = try #require(await env.providerRequests().first?.providerMessageId)
            let answer = try await env.sender.postTwilio(
                path: "/webhooks/twilio/status",
                form: [("MessageSid", sid), ("MessageStatus", "undelivered"), ("ErrorCode", "30003"), ("AccountSid", TestEnvironment.accountSid)])
            #expect(answer.status == 200)
            let page = try await env.gateway.store.messages(contactId: try #require(await contactId(env)), limit: 10, before: nil)
            let reply = try #require(page.items.last)
            #expect(reply.status == .failed)
            #expect(reply.error?.code == "twilio_30003")
            let viaAPI = try await env.api("GET", "/api/v1/messages/\(reply.id)").json()
            #expect((viaAPI["error"] as? [String: Any])?["code"] as? String == "twilio_30003")
        }
    }

    func contactId(_ env: TestEnvironment) async -> String? {
        try? await env.gateway.store.contacts(limit: 1, cursor: nil).items.first?.id
    }
}

@Suite("Simulator status callbacks")
struct SimulatorStatusCallbackTests {
    @Test("after each send the simulator reports the provider's statuses back, signed, on every channel")
    func everyChannel() async throws {
        try await TestEnvironment.with(statusCallbacks: true) { env in
            _ = try await env.sender.sendSMS(from: "+15551237000", text: "sms")
            _ = try await env.sender.sendMessenger(psid: "PSID-CB", text: "fb")
            await env.simulator.scenario.setPhone("+15551237001", rcsFeatures: [])
            _ = try await env.sender.sendRCS(phone: "+15551237001", text: "rcs")
            // Twilio reports sent then delivered; Messenger and RBM report delivered then read.
            try await eventually("Twilio's delivered, Messenger's and RBM's read") {
                let read = try await env.gateway.store.messages(status: .read, limit: 10, before: nil).items.map(\.channel)
                let delivered = try await env.gateway.store.messages(status: .delivered, limit: 10, before: nil).items.map(\.channel)
                return Set(read) == [.messenger, .rcs] && delivered == [.sms]
            }
            #expect(try await env.count("messages", where: "direction = 'outbound' AND status IN ('queued', 'sending', 'sent', 'failed')") == 0)
        }
    }
}
