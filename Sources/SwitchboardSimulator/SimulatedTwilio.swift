import Foundation
import Hummingbird
import SwitchboardCore
import TwilioSMSAdapter

/// Twilio as the simulator plays it: the Messages API (send, list) and inbound SMS/MMS webhooks.
struct SimulatedTwilio: SimulatedProvider {
    let settings: SimulatorSettings
    let name = "twilio"
    let channel = Channel.sms
    let inboundOptions: Set<SimulatedInbound.Option> = [.media]

    func addRoutes(to router: Router<SimulatorRequestContext>, simulator: Simulator) {
        let account = settings.accounts[TwilioConfigurationSection.self]
        let twilio = TwilioMessagesFake(accountSid: account?.accountSid ?? "", authToken: account?.authToken ?? "")
        let recorder = simulator.recorder
        let scenario = simulator.scenario
        let callbacks = simulator.callbacks
        let accepted = simulator.accepted
        router.post("2010-04-01/Accounts/:accountSid/Messages.json") { request, context in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let form = (try? FormURLEncoding.decode(buffer.readableBytesView)) ?? []
            var answer = twilio.answer(
                pathAccountSid: try context.parameters.require("accountSid"),
                authorization: request.headers[.authorization], form: form)
            let fault = await scenario.nextFault(for: "twilio")
            if let fault, let status = fault.status {
                let code = fault.errorCode ?? (status == 429 ? 20429 : 20500)
                answer = TwilioMessagesFake.error(status: status, code: code, message: TwilioMessagesFake.message(forCode: code))
            }
            // Twilio creates the message, then answers: a delayed answer (a client's timeout) does
            // not undo it. A reset stands for a request dropped before Twilio acted on it.
            if answer.sid != nil, fault?.reset != true {
                await accepted.acceptTwilio(answer.body, at: Date())
            }
            _ = await Simulator.apply(fault)
            try await Simulator.record(
                RecordedRequest(provider: "twilio", method: "POST", path: request.uri.path, form: form.map { [$0.0, $0.1] }, json: nil),
                status: answer.status, providerMessageId: answer.sid, fault: fault, recorder: recorder, context: context)
            if let callbacks, let sid = answer.sid {
                Task { await callbacks.twilio(sid: sid, form: form, faults: fault?.callbacks) }
            }
            return try Simulator.json(answer.body, status: answer.status, retryAfter: fault?.retryAfter)
        }
        // An MMS's media as Twilio serves it: the Media resource wants the account's credentials
        // (HTTP Basic authentication on media, the account's setting) and redirects to the file
        // (https://www.twilio.com/docs/messaging/api/media-resource).
        router.get("2010-04-01/Accounts/:accountSid/Messages/:messageSid/Media/:mediaSid") { request, context in
            let path = request.uri.path
            guard let credentials = TwilioMessagesFake.basicCredentials(request.headers[.authorization]),
                  credentials == (twilio.accountSid, twilio.authToken), try context.parameters.require("accountSid") == twilio.accountSid
            else {
                await recorder.record(RecordedRequest(
                    provider: "twilio", method: "GET", path: path, form: nil, json: nil, responseStatus: 401, providerMessageId: nil,
                    receivedAt: Date()))
                return try Simulator.json(TwilioMessagesFake.error(status: 401, code: 20003, message: "Authenticate").body, status: 401)
            }
            await recorder.record(RecordedRequest(
                provider: "twilio", method: "GET", path: path, form: nil, json: nil, responseStatus: 302, providerMessageId: nil,
                receivedAt: Date()))
            var headers = HTTPFields()
            headers[.location] = "/_simulator/media/\(try context.parameters.require("mediaSid")).png"
            return Response(status: .found, headers: headers)
        }
        router.get("2010-04-01/Accounts/:accountSid/Messages.json") { request, context in
            let query = (try? FormURLEncoding.decode(Array((request.uri.query ?? "").utf8))) ?? []
            let answer = await twilio.list(
                pathAccountSid: try context.parameters.require("accountSid"), authorization: request.headers[.authorization],
                query: query, accepted: accepted)
            await recorder.record(RecordedRequest(
                provider: "twilio", method: "GET", path: request.uri.path, form: query.map { [$0.0, $0.1] }, json: nil,
                responseStatus: answer.status, providerMessageId: nil, receivedAt: Date()))
            return try Simulator.json(answer.body, status: answer.status)
        }
    }

    func webhook(for message: SimulatedInbound, sender: InboundWebhookSender) throws -> InboundWebhookSender.SignedWebhook {
        guard sender.accounts[TwilioConfigurationSection.self]?.authToken != nil else {
            throw InboundWebhookSender.MissingAccount(description: "signing Twilio webhooks needs twilio.authToken")
        }
        return sender.twilioWebhook(form: sender.twilioSMSForm(
            from: message.from, text: message.text, mediaURLs: message.media, messageSid: message.messageId))
    }

    func newMessageId() -> String {
        InboundWebhookSender.newID(prefix: "SM", hexDigits: 32)
    }
}
