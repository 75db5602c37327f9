import Foundation
import Hummingbird
import MessengerAdapter
import SwitchboardCore

/// Messenger as the simulator plays it: the Send API and a person writing to the page.
struct SimulatedMessenger: SimulatedProvider {
    let settings: SimulatorSettings
    let name = "messenger"
    let channel = Channel.messenger
    let inboundOptions: Set<SimulatedInbound.Option> = [.payload, .sentAt, .reaction]

    func addRoutes(to router: Router<SimulatorRequestContext>, simulator: Simulator) {
        let messenger = MessengerSendFake(pageAccessToken: settings.accounts[MessengerConfigurationSection.self]?.pageAccessToken)
        let recorder = simulator.recorder
        let scenario = simulator.scenario
        let callbacks = simulator.callbacks
        let accepted = simulator.accepted
        router.post(":version/me/messages") { request, context in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            var answer = messenger.answer(accessToken: request.uri.queryParameters["access_token"].map(String.init), body: body)
            let fault = await Simulator.apply(scenario.nextFault(for: "messenger"))
            if let fault, let status = fault.status {
                let code = fault.errorCode ?? (status == 429 ? 613 : 2)
                answer = MessengerSendFake.error(status: status, code: code, type: "OAuthException", message: MessengerSendFake.message(forCode: code))
            }
            try await Simulator.record(
                RecordedRequest(provider: "messenger", method: "POST", path: request.uri.path, form: nil, json: String(decoding: body, as: UTF8.self)),
                status: answer.status, providerMessageId: answer.messageId, fault: fault, recorder: recorder, context: context)
            if let callbacks, let mid = answer.messageId, case .string(let recipient)? = answer.body["recipient_id"] {
                Task { await callbacks.messenger(recipient: recipient, mid: mid, faults: fault?.callbacks) }
            }
            return try Simulator.json(answer.body, status: answer.status, retryAfter: fault?.retryAfter)
        }
    }

    func webhook(for message: SimulatedInbound, sender: InboundWebhookSender) throws -> InboundWebhookSender.SignedWebhook {
        guard sender.accounts[MessengerConfigurationSection.self]?.appSecret != nil else {
            throw InboundWebhookSender.MissingAccount(description: "signing Messenger webhooks needs messenger.appSecret")
        }
        if let reaction = message.reaction {
            return try sender.messengerWebhook(events: [
                sender.messengerReactionEvent(
                    psid: message.from, to: reaction.messageId, emoji: reaction.emoji, timestamp: message.sentAt ?? Date()),
            ])
        }
        return try sender.messengerWebhook(events: [
            sender.messengerMessageEvent(
                psid: message.from, text: message.text, quickReplyPayload: message.payload, mid: message.messageId,
                timestamp: message.sentAt ?? Date()),
        ])
    }

    func newMessageId() -> String {
        InboundWebhookSender.newID(prefix: "m_", hexDigits: 40)
    }
}
