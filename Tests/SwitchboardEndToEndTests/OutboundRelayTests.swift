import CurlHTTPClient
import Foundation
import MessengerAdapter
import SwitchboardCore
import SwitchboardServer
import SwitchboardSimulator
import SwitchboardStorage
import Testing

/// The outbox against the simulator's faults, and the rules every outbound message meets.
@Suite("Outbound relay")
struct OutboundRelayTests {
    static let noBot: @Sendable (inout GatewayConfiguration) -> Void = { $0.bot.kind = GatewayConfiguration.BotSettings.Kind.none }

    /// A contact who wrote once by SMS (the bot is off, so nothing is sent yet).
    func smsContact(_ env: TestEnvironment, phone: String = "+15551231000") async throws -> Contact {
        #expect(try await env.sender.sendSMS(from: phone, text: "hello").status == 200)
        return try await env.firstContact()
    }

    func status(_ env: TestEnvironment, _ id: String) async throws -> Message? {
        try await env.gateway.store.message(id: id)
    }

    func attempts(_ env: TestEnvironment) async -> [RecordedRequest] {
        await env.providerRequests().filter { $0.provider == "twilio" }
    }

    func queued(_ response: HTTPClientResponse, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(response.status == 202, "answer: \(response.text)", sourceLocation: sourceLocation)
        return try #require(try response.json()["id"] as? String)
    }

    @Test("500 twice, then accepted: three identical calls, status sent")
    func retriesServerErrors() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            await env.fault(SimulatedFault(provider: "twilio", status: 500, count: 2))
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"are you there?"}"#))
            try await eventually("sent after retries") { try await status(env, id)?.status == .sent }
            let calls = await attempts(env)
            #expect(calls.map(\.responseStatus) == [500, 500, 201])
            #expect(Set(calls.map { $0.form?.description ?? "" }).count == 1)
            #expect(calls.last?.formValue("Body") == "are you there?")
            #expect(try await status(env, id)?.providerMessageId == calls.last?.providerMessageId)
        }
    }

    @Test("429 with Retry-After is honoured before the next attempt")
    func honoursRetryAfter() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            await env.fault(SimulatedFault(provider: "twilio", status: 429, retryAfter: 1))
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"slow down"}"#))
            try await eventually("sent after the wait") { try await status(env, id)?.status == .sent }
            let calls = await attempts(env)
            #expect(calls.map(\.responseStatus) == [429, 201])
            #expect(calls[1].receivedAt.timeIntervalSince(calls[0].receivedAt) >= 0.95)
        }
    }

    @Test("a provider call that times out is retried")
    func timeouts() async throws {
        try await TestEnvironment.with(configure: { Self.noBot(&$0); $0.outbox.requestTimeoutMilliseconds = 300 }) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            await env.fault(SimulatedFault(provider: "twilio", delayMilliseconds: 1500))
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"tick"}"#))
            try await eventually("sent after the timeout") { try await status(env, id)?.status == .sent }
            #expect(try await env.gateway.store.message(id: id)?.error == nil)
        }
    }

    @Test("a permanent error fails at once with the provider's code; a dead letter is listed")
    func permanentError() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            await env.fault(SimulatedFault(provider: "twilio", status: 400, errorCode: 21211))
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"to nowhere"}"#))
            try await eventually("failed") { try await status(env, id)?.status == .failed }
            #expect(try await status(env, id)?.error?.code == "twilio_21211")
            #expect(await attempts(env).count == 1)
            let dead = try await env.api("GET", "/api/v1/messages?status=failed").json()
            #expect((dead["items"] as? [[String: Any]])?.first?["id"] as? String == id)
        }
    }

    @Test("after the last attempt: retries_exhausted")
    func retriesExhausted() async throws {
        try await TestEnvironment.with(configure: { Self.noBot(&$0); $0.outbox.maxAttempts = 2 }) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            await env.fault(SimulatedFault(provider: "twilio", status: 503, count: 5))
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"doomed"}"#))
            try await eventually("failed") { try await status(env, id)?.status == .failed }
            #expect(try await status(env, id)?.error?.code == "retries_exhausted")
            #expect(await attempts(env).count == 2)
        }
    }

    @Test("Twilio 21610 marks the contact unsubscribed; the API then refuses with 409")
    func providerUnsubscribed() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            await env.fault(SimulatedFault(provider: "twilio", status: 400, errorCode: 21610))
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"hi"}"#))
            try await eventually("failed") { try await status(env, id)?.status == .failed }
            let refused = try await env.agentReply(contact.id, content: #"{"text":"again"}"#)
            #expect(refused.status == 409)
            #expect(refused.errorCode == "unsubscribed")
        }
    }

    @Test("STOP unsubscribes (no bot reply, API 409); HELP answers; START resubscribes with a confirmation and sends go again")
    func stopAndStart() async throws {
        try await TestEnvironment.with { env in
            let phone = "+15551231001"
            _ = try await env.sender.sendSMS(from: phone, text: "STOP")
            let contact = try await env.firstContact()
            #expect(contact.subscriptions["sms"] == false)
            let refused = try await env.agentReply(contact.id, content: #"{"text":"promo"}"#)
            #expect(refused.status == 409)
            #expect(refused.errorCode == "unsubscribed")
            _ = try await env.sender.sendSMS(from: phone, text: "anything")
            try await Task.sleep(nanoseconds: 300_000_000)
            #expect(await env.providerRequests().isEmpty)

            _ = try await env.sender.sendSMS(from: phone, text: "start")
            #expect(try await env.firstContact().subscriptions["sms"] == true)
            try await eventually("the confirmation is sent") {
                await env.providerRequests().contains { $0.formValue("Body") == "You are subscribed again. Reply STOP to unsubscribe." }
            }
            _ = try await env.sender.sendSMS(from: phone, text: "HELP")
            try await eventually("the help text is sent") {
                await env.providerRequests().contains { $0.formValue("Body") == "Reply STOP to unsubscribe, START to subscribe again." }
            }
            let id = try queued(try await env.agentReply(contact.id, content: #"{"text":"welcome back"}"#))
            try await eventually("sent") { try await status(env, id)?.status == .sent }
        }
    }

    @Test("quick replies go out numbered over SMS and an answer '2' comes back as that payload")
    func numberedQuickReplies() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env, phone: "+15551231002")
            let id = try queued(try await env.agentReply(
                contact.id, content: #"{"text":"Still interested?","quickReplies":[{"title":"Yes","payload":"YES"},{"title":"No","payload":"NO"}]}"#))
            try await eventually("sent") { try await status(env, id)?.status == .sent }
            #expect(await attempts(env).last?.formValue("Body") == "Still interested?\nReply 1 for Yes, 2 for No")
            _ = try await env.sender.sendSMS(from: "+15551231002", text: "2")
            let answer = try #require(try await env.gateway.store.messages(contactId: contact.id, limit: 1, before: nil).items.last)
            #expect(answer.content.postback == .init(title: "No", payload: "NO"))
            #expect(answer.content.text == "2")
        }
    }

    @Test("Messenger: inside 24 h RESPONSE; after, 409 outside_messaging_window, or HUMAN_AGENT within 7 days where allowed")
    func messengerWindow() async throws {
        for allowTag in [false, true] {
            try await TestEnvironment.with(configure: { Self.noBot(&$0); $0.messenger?.allowHumanAgentTag = allowTag }) { (env: TestEnvironment) async throws in
                _ = try await env.sender.sendMessenger(psid: "PSID-WIN", text: "hi")
                let contact = try await env.firstContact()
                let inside = try queued(try await env.agentReply(contact.id, content: #"{"text":"quick answer"}"#))
                try await eventually("sent") { try await status(env, inside)?.status == .sent }
                env.clock.advance(by: 25 * 3600)
                let late = try await env.agentReply(contact.id, content: #"{"text":"late answer"}"#)
                if allowTag {
                    let id = try queued(late)
                    try await eventually("sent with the tag") { try await status(env, id)?.status == .sent }
                    let body = try #require(await env.providerRequests().last { $0.provider == "messenger" }?.json)
                    #expect(body.contains(#""messaging_type":"MESSAGE_TAG""#))
                    #expect(body.contains(#""tag":"HUMAN_AGENT""#))
                    env.clock.advance(by: 7 * 24 * 3600)
                    #expect(try await env.agentReply(contact.id, content: #"{"text":"too late"}"#).status == 409)
                } else {
                    #expect(late.status == 409)
                    #expect(late.errorCode == "outside_messaging_window")
                }
            }
        }
    }

    @Test("the fallback to SMS keeps SMS's own subscription: a phone that sent STOP on SMS gets no SMS")
    func rcsFallbackUnsubscribed() async throws {
        try await TestEnvironment.with(configure: { Self.noBot(&$0) }) { (env: TestEnvironment) async throws in
            await env.simulator.scenario.setPhone("+15551231004", rcsFeatures: nil)
            let contact = try await smsContact(env, phone: "+15551231004")
            #expect(try await env.api("PUT", "/api/v1/contacts/\(contact.id)/subscriptions/sms", body: #"{"subscribed":false}"#).status == 200)
            let id = try queued(try await env.agentReply(contact.id, channel: "rcs", content: #"{"text":"rich hello"}"#))
            try await eventually("failed") { try await status(env, id)?.status == .failed }
            #expect(try await status(env, id)?.error?.code == "unsubscribed")
            #expect(await attempts(env).filter { $0.formValue("Body") == "rich hello" }.isEmpty)
        }
    }

    @Test("RCS to a phone without RCS falls back to SMS; without the fallback it fails not_rcs_capable")
    func rcsFallback() async throws {
        for fallback in [true, false] {
            try await TestEnvironment.with(configure: { Self.noBot(&$0); $0.rcsCapabilities.fallbackToSMS = fallback }) { (env: TestEnvironment) async throws in
                await env.simulator.scenario.setPhone("+15551231003", rcsFeatures: nil)
                let contact = try await smsContact(env, phone: "+15551231003")
                let id = try queued(try await env.agentReply(contact.id, channel: "rcs", content: #"{"text":"rich hello"}"#))
                if fallback {
                    try await eventually("sent over SMS") { try await status(env, id)?.status == .sent }
                    #expect(try await status(env, id)?.channel == .sms)
                    #expect(await attempts(env).last?.formValue("Body") == "rich hello")
                } else {
                    try await eventually("failed") { try await status(env, id)?.status == .failed }
                    #expect(try await status(env, id)?.error?.code == "not_rcs_capable")
                }
                let capability = try await env.api("GET", "/api/v1/rcs/capabilities/+15551231003").json()
                #expect(capability["capable"] as? Bool == false)
                #expect(capability["source"] as? String == "lookup")
            }
        }
    }

    @Test("RCS features from the lookup shape the message: a card where supported")
    func rcsFeatures() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            await env.simulator.scenario.setPhone("+15551231004", rcsFeatures: ["RICHCARD_STANDALONE"])
            _ = try await env.sender.sendRCS(phone: "+15551231004", text: "hi")
            let contact = try await env.firstContact()
            let id = try queued(try await env.agentReply(
                contact.id, content: #"{"text":"Our pick","attachments":[{"kind":"image","url":"https://x.example/a.jpg","name":"Sneakers"}]}"#))
            try await eventually("sent") { try await status(env, id)?.status == .sent }
            let body = try #require(await env.providerRequests().last { $0.provider == "rbm" && $0.method == "POST" }?.json)
            #expect(body.contains("standaloneCard"))
            #expect(try await env.firstContact().rcs?.features == ["RICHCARD_STANDALONE"])
        }
    }

    @Test("a paced channel drains a burst no faster than its rate")
    func pacing() async throws {
        try await TestEnvironment.with(configure: { Self.noBot(&$0); $0.outbox.pacing = ["sms": .init(perSecond: 4, burst: 1)] }) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            var ids: [String] = []
            for index in 0..<5 { ids.append(try queued(try await env.agentReply(contact.id, content: #"{"text":"burst \#(index)"}"#))) }
            let queuedIds = ids
            try await eventually("all sent") {
                var sent = 0
                for id in queuedIds where try await status(env, id)?.status == .sent { sent += 1 }
                return sent == 5
            }
            let times = await attempts(env).map(\.receivedAt)
            // Five sends at four a second with no burst are claimed a second apart, first to last;
            // unpaced they would arrive within milliseconds. Arrival times at the simulator carry
            // connection jitter (the first call also opens the connection, which once left 0.746 s), hence the margin.
            #expect(times.count == 5)
            #expect(times.last!.timeIntervalSince(times.first!) >= 0.6, "send times: \(times.map { $0.timeIntervalSince(times[0]) })")
        }
    }

    @Test("agent reply refusals: unknown contact 404, bad JSON 400, wrong media type 415, empty 422, too long 422, no address 422")
    func refusals() async throws {
        try await TestEnvironment.with(configure: Self.noBot) { (env: TestEnvironment) async throws in
            let contact = try await smsContact(env)
            #expect(try await env.agentReply("ct_nobody", content: #"{"text":"x"}"#).status == 404)
            #expect(try await env.api("POST", "/api/v1/contacts/\(contact.id)/messages", body: "{").status == 400)
            let form = try await env.client.execute(HTTPClientRequest(
                method: "POST", url: env.gatewayURL + "/api/v1/contacts/\(contact.id)/messages",
                headers: [(name: "Authorization", value: "Bearer \(env.apiToken)"), (name: "Content-Type", value: "text/plain")], body: Array("x".utf8)))
            #expect(form.status == 415)
            let empty = try await env.agentReply(contact.id, content: "{}")
            #expect(empty.status == 422)
            #expect(empty.errorCode == "empty_content")
            let long = try await env.agentReply(contact.id, content: #"{"text":"\#(String(repeating: "a", count: 1601))"}"#)
            #expect(long.errorCode == "content_too_long")
            let messenger = try await env.agentReply(contact.id, channel: "messenger", content: #"{"text":"x"}"#)
            #expect(messenger.errorCode == "no_address_on_channel")
        }
    }
}
