import CurlHTTPClient
import Foundation
import GRDB
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

/// The simulator's faults that are not plain error answers, and how the gateway behaves under each.
/// (Error statuses, 429 with Retry-After, latency beyond the timeout and permanent errors are in
/// OutboundRelayTests.)
@Suite("Simulator faults")
struct SimulatorFaultTests {
    static let noBot: @Sendable (inout GatewayConfiguration) -> Void = { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }

    func agentReply(_ env: TestEnvironment, phone: String, text: String) async throws -> String {
        #expect(try await env.sender.sendSMS(from: phone, text: "hello").status == 200)
        let contact = try await env.firstContact()
        let response = try await env.agentReply(contact.id, content: #"{"text":"\#(text)"}"#)
        #expect(response.status == 202)
        return try #require(try response.json()["id"] as? String)
    }

    func callbacks(_ env: TestEnvironment, for sid: String?) async -> [SentCallback] {
        await env.simulator.callbacks?.log.all().filter { $0.messageId == sid } ?? []
    }

    @Test("a connection reset by the provider is an unknown outcome: Twilio's list is read first, and as the message is not there it is sent again")
    func connectionReset() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { env in
            await env.fault(SimulatedFault(provider: "twilio", reset: true))
            let id = try await agentReply(env, phone: "+15551239001", text: "after a reset")
            try await eventually("sent after the reset") { try await env.gateway.store.message(id: id)?.status == .sent }
            let requests = await env.providerRequests().filter { $0.provider == "twilio" }
            #expect(requests.map(\.method) == ["POST", "GET", "POST"])
            let calls = requests.filter { $0.method == "POST" }
            #expect(calls.map(\.responseStatus) == [0, 201])
            #expect(calls.allSatisfy { $0.formValue("Body") == "after a reset" })
            let message = try await env.gateway.store.message(id: id)
            #expect(message?.providerMessageId == calls.last?.providerMessageId)
            #expect(message?.error == nil)
        }
    }

    @Test("status callbacks delivered twice are acknowledged twice and change the message once")
    func duplicateCallbacks() async throws {
        try await TestEnvironment.with(statusCallbacks: true, configure: Self.noBot) { env in
            await env.fault(SimulatedFault(provider: "twilio", callbacks: CallbackFaults(duplicate: true)))
            let id = try await agentReply(env, phone: "+15551239002", text: "twice")
            try await eventually("four callbacks") { await callbacks(env, for: try await env.gateway.store.message(id: id)?.providerMessageId).count == 4 }
            let sid = try await env.gateway.store.message(id: id)?.providerMessageId
            let sent = await callbacks(env, for: sid)
            #expect(sent.map(\.event) == ["sent", "sent", "delivered", "delivered"])
            #expect(sent.allSatisfy { $0.gatewayStatus == 200 })
            #expect(try await env.gateway.store.message(id: id)?.status == .delivered)
            #expect(try await env.count("messages", where: "direction = 'outbound'") == 1)
        }
    }

    @Test("status callbacks out of order never move a message backwards")
    func outOfOrderCallbacks() async throws {
        try await TestEnvironment.with(statusCallbacks: true, configure: Self.noBot) { env in
            await env.fault(SimulatedFault(provider: "twilio", callbacks: CallbackFaults(outOfOrder: true)))
            let id = try await agentReply(env, phone: "+15551239003", text: "reversed")
            try await eventually("both callbacks") { await callbacks(env, for: try await env.gateway.store.message(id: id)?.providerMessageId).count == 2 }
            let sid = try await env.gateway.store.message(id: id)?.providerMessageId
            #expect(await callbacks(env, for: sid).map(\.event) == ["delivered", "sent"])
            #expect(try await env.gateway.store.message(id: id)?.status == .delivered)

            // Messenger's read watermark before its delivery: read stays read.
            await env.fault(SimulatedFault(provider: "messenger", callbacks: CallbackFaults(outOfOrder: true)))
            #expect(try await env.sender.sendMessenger(psid: "PSID-REVERSED", text: "hi").status == 200)
            let contact = try #require(try await env.gateway.store.contacts(limit: 10, cursor: nil).items.first { $0.facebook?.psid == "PSID-REVERSED" })
            let reply = try #require(try await env.agentReply(contact.id, content: #"{"text":"read me"}"#).json()["id"] as? String)
            try await eventually("both Messenger callbacks") {
                await callbacks(env, for: try await env.gateway.store.message(id: reply)?.providerMessageId).count == 2
            }
            let mid = try await env.gateway.store.message(id: reply)?.providerMessageId
            #expect(await callbacks(env, for: mid).map(\.event) == ["read", "delivery"])
            #expect(try await env.gateway.store.message(id: reply)?.status == .read)
        }
    }

    @Test("a status callback the gateway refuses is delivered again by Messenger (as RBM's Pub/Sub does), never by Twilio")
    func refusedCallbacksAreRedelivered() async throws {
        try await TestEnvironment.with(statusCallbacks: true, configure: Self.noBot) { (env: TestEnvironment) async throws in
            // The gateway cannot store a delivery receipt until the trigger is dropped: it answers 503.
            try await env.sqlite.pool.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER refuse BEFORE UPDATE OF status ON messages WHEN NEW.status IN ('delivered', 'read')
                    BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END
                    """)
            }
            #expect(try await env.sender.sendMessenger(psid: "PSID-REFUSED", text: "hi").status == 200)
            let contact = try await env.firstContact()
            let reply = try #require(try await env.agentReply(contact.id, content: #"{"text":"again"}"#).json()["id"] as? String)
            try await eventually("a refused delivery receipt") {
                let mid = try await env.gateway.store.message(id: reply)?.providerMessageId
                return await callbacks(env, for: mid).contains { $0.event == "delivery" && $0.gatewayStatus == 503 }
            }
            try await env.sqlite.pool.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
            try await eventually("read after the redelivery") { try await env.gateway.store.message(id: reply)?.status == .read }
            let mid = try await env.gateway.store.message(id: reply)?.providerMessageId
            // The simulator logs an attempt once the gateway's answer is in.
            try await eventually("both acknowledged") {
                let sent = await callbacks(env, for: mid)
                return ["delivery", "read"].allSatisfy { event in sent.contains { $0.event == event && $0.gatewayStatus == 200 } }
            }
            let sent = await callbacks(env, for: mid)
            // Every refused attempt was followed by another, until one was acknowledged.
            for event in ["delivery", "read"] {
                let answers = sent.filter { $0.event == event }.map(\.gatewayStatus)
                #expect(answers.last == 200, "\(event): \(answers)")
                #expect(answers.dropLast().allSatisfy { $0 == 503 }, "\(event): \(answers)")
            }
            #expect(sent.filter { $0.event == "delivery" }.count >= 2)
            // A redelivery is the same signed request again, byte for byte.
            for event in ["delivery", "read"] {
                #expect(Set(sent.filter { $0.event == event }.map(\.bodySHA256)).count == 1, "\(event)")
            }

            // Twilio posts a status callback once: a refused one is not sent again.
            try await env.sqlite.pool.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER refuse BEFORE UPDATE OF status ON messages WHEN NEW.status IN ('delivered', 'read')
                    BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END
                    """)
            }
            let sms = try await agentReply(env, phone: "+15551239005", text: "once only")
            try await eventually("Twilio's two callbacks") {
                await callbacks(env, for: try await env.gateway.store.message(id: sms)?.providerMessageId).count == 2
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            let sid = try await env.gateway.store.message(id: sms)?.providerMessageId
            #expect(await callbacks(env, for: sid).map(\.event) == ["sent", "delivered"])
            #expect(await callbacks(env, for: sid).map(\.gatewayStatus) == [200, 503])
            #expect(try await env.gateway.store.message(id: sms)?.status == .sent)
        }
    }

    @Test("Messenger's outside-the-window error (code 10) fails the reply at once, with the provider's words")
    func outsideWindowFromTheProvider() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            #expect(try await env.sender.sendMessenger(psid: "PSID-WINDOW", text: "hi").status == 200)
            let contact = try await env.firstContact()
            await env.fault(SimulatedFault(provider: "messenger", status: 400, errorCode: 10))
            let reply = try #require(try await env.agentReply(contact.id, content: #"{"text":"late"}"#).json()["id"] as? String)
            try await eventually("failed") { try await env.gateway.store.message(id: reply)?.status == .failed }
            let message = try await env.gateway.store.message(id: reply)
            #expect(message?.error?.code == "messenger_10")
            #expect(message?.error?.message == "(#10) This message is sent outside of allowed window.")
            #expect(await env.providerRequests().filter { $0.provider == "messenger" }.count == 1)
        }
    }

    @Test("the same Messenger and RBM message delivered twice is stored once")
    func duplicateInboundWebhooks() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            for _ in 0..<2 {
                #expect(try await env.sender.sendMessenger(psid: "PSID-TWICE", text: "once", mid: "m_twice").status == 200)
                #expect(try await env.sender.sendRCS(phone: "+15551239004", text: "once", messageId: "rbm-twice").status == 200)
            }
            #expect(try await env.count("messages", where: "direction = 'inbound'") == 2)
        }
    }
}
