import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

/// The shipped welcome flow end to end: the simulator plays the contact, the fake providers get the bot's words.
@Suite("Welcome flow end to end")
struct FlowConversationTests {
    static let flowBot: @Sendable (inout GatewayConfiguration) -> Void = {
        $0.bot.kind = GatewayConfiguration.BotSettings.Kind.flow
        $0.bot.flow = "welcome"
    }

    func lastBody(_ env: TestEnvironment, provider: String) async -> String? {
        let request = await env.providerRequests().last { $0.provider == provider && $0.method == "POST" }
        return request?.formValue("Body") ?? request?.json
    }

    func waitForReplies(_ env: TestEnvironment, _ count: Int) async throws {
        try await eventually("\(count) replies sent") {
            await env.providerRequests().filter { $0.method == "POST" && $0.responseStatus < 300 }.count >= count
        }
    }

    @Test("over SMS: name, numbered choice, order number with a retry, tag, handoff, then an agent reply")
    func sms() async throws {
        try await TestEnvironment.with(configure: Self.flowBot) { (env: TestEnvironment) async throws in
            let phone = "+15551233000"
            _ = try await env.sender.sendSMS(from: phone, text: "hi")
            try await waitForReplies(env, 1)
            #expect(await lastBody(env, provider: "twilio") == "Hi! I'm the Switchboard assistant. What's your first name?")
            _ = try await env.sender.sendSMS(from: phone, text: "Ada")
            try await waitForReplies(env, 2)
            #expect(await lastBody(env, provider: "twilio") == "Nice to meet you, Ada! Is this about an order?\nReply 1 for Yes, 2 for No")
            _ = try await env.sender.sendSMS(from: phone, text: "1")
            try await waitForReplies(env, 3)
            _ = try await env.sender.sendSMS(from: phone, text: "no idea")
            try await waitForReplies(env, 4)
            #expect(await lastBody(env, provider: "twilio") == "That doesn't look like an order number. It looks like A-1001.")
            _ = try await env.sender.sendSMS(from: phone, text: "A-1001")
            try await waitForReplies(env, 5)
            #expect(await lastBody(env, provider: "twilio") == "Thanks, Ada. Order A-1001 noted: a colleague will take it from here.")
            let contact = try await env.firstContact()
            #expect(contact.attributes == ["first_name": "Ada", "order_id": "A-1001"])
            #expect(contact.tags == ["has-order"])
            #expect(contact.botEnabled == false)
            let trail = try await env.gateway.store.messages(contactId: contact.id, limit: 50, before: nil).items
            #expect(trail.last?.author.kind == .system)
            // With the bot off, nothing automatic answers; an agent does.
            _ = try await env.sender.sendSMS(from: phone, text: "hello?")
            let agent = try await env.agentReply(contact.id, content: #"{"text":"Hi Ada, Grace here."}"#)
            #expect(agent.status == 202)
            try await waitForReplies(env, 6)
            #expect(await lastBody(env, provider: "twilio") == "Hi Ada, Grace here.")
            let agentMessageId = try #require(try agent.json()["id"] as? String)
            let answered = try #require(try await env.gateway.store.message(id: agentMessageId))
            #expect(answered.author == .init(kind: .agent, name: "Grace"))
        }
    }

    @Test("over Messenger: quick replies as buttons and payloads back")
    func messenger() async throws {
        try await TestEnvironment.with(configure: Self.flowBot) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendMessenger(psid: "PSID-FLOW", text: "hello")
            try await waitForReplies(env, 1)
            _ = try await env.sender.sendMessenger(psid: "PSID-FLOW", text: "Grace")
            try await waitForReplies(env, 2)
            let offer = try #require(await lastBody(env, provider: "messenger"))
            #expect(offer.contains(#""quick_replies""#))
            #expect(offer.contains(#""payload":"OTHER""#))
            _ = try await env.sender.sendMessenger(psid: "PSID-FLOW", text: "No", quickReplyPayload: "OTHER")
            try await waitForReplies(env, 3)
            #expect(try #require(await lastBody(env, provider: "messenger")).contains("No problem, Grace."))
            let contact = try await env.firstContact()
            #expect(contact.attributes["topic"] == "general")
            #expect(contact.botEnabled == false)
            // An agent turns the bot back on: the flow starts afresh.
            _ = try await env.api("PATCH", "/api/v1/contacts/\(contact.id)", body: #"{"botEnabled":true}"#)
            _ = try await env.sender.sendMessenger(psid: "PSID-FLOW", text: "back again")
            try await waitForReplies(env, 4)
            #expect(try #require(await lastBody(env, provider: "messenger")).contains("What's your first name?"))
        }
    }

    @Test("a restart in the middle of a waitFor resumes where the contact was")
    func restart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = "sqlite:" + directory.appendingPathComponent("restart.sqlite").path
        let configure: @Sendable (inout GatewayConfiguration) -> Void = { Self.flowBot(&$0); $0.database = database }
        try await TestEnvironment.with(configure: configure) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551233001", text: "hi")
            try await waitForReplies(env, 1)
        }
        try await TestEnvironment.with(configure: configure) { (env: TestEnvironment) async throws in
            _ = try await env.sender.sendSMS(from: "+15551233001", text: "Lin")
            try await waitForReplies(env, 1)
            #expect(await lastBody(env, provider: "twilio") == "Nice to meet you, Lin! Is this about an order?\nReply 1 for Yes, 2 for No")
        }
    }
}
