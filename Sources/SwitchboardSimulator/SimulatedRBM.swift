import Foundation
import Hummingbird
import Logging
import RBMAdapter
import SwitchboardCore

/// RCS Business Messaging as the simulator plays it: agentMessages, capabilities, the service
/// account's token endpoint, and a phone writing to the agent.
struct SimulatedRBM: SimulatedProvider {
    let settings: SimulatorSettings
    let logger: Logger
    let name = "rbm"
    let channel = Channel.rcs
    let inboundOptions: Set<SimulatedInbound.Option> = [.payload]

    func addRoutes(to router: Router<SimulatorRequestContext>, simulator: Simulator) {
        let agent = settings.accounts[RBMConfigurationSection.self]
        let googleTokens: GoogleTokenFake?
        switch agent?.serviceAccountPublicKey {
        case .success(let publicKey):
            googleTokens = try? GoogleTokenFake(
                publicKeyPEM: publicKey, lifetime: settings.rbmTokenLifetimeSeconds,
                advertisedLifetime: settings.rbmTokenAdvertisedLifetimeSeconds)
            if googleTokens == nil {
                logger.error("the RBM service account's public key is not an RSA public key in PEM: the token endpoint refuses every request")
            }
        case .failure(let problem):
            googleTokens = nil
            logger.error(
                "the RBM service account file does not read as a key: the token endpoint refuses every request",
                metadata: ["problem": "\(problem.description)"])
        case nil:
            googleTokens = nil
        }
        let rbm = RBMFake(accessToken: agent?.accessToken, serviceAccountTokens: googleTokens)
        let recorder = simulator.recorder
        let scenario = simulator.scenario
        let callbacks = simulator.callbacks
        let accepted = simulator.accepted
        router.post("v1/phones/:phone/agentMessages") { request, context in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let phone = try context.parameters.require("phone")
            var answer = rbm.agentMessage(
                phone: phone, messageId: request.uri.queryParameters["messageId"].map(String.init),
                authorization: request.headers[.authorization], body: body)
            if case .some(.none) = await scenario.rcsFeatures(of: phone), answer.status == 200 {
                answer = RBMFake.error(404, status: "NOT_FOUND", message: "Requested entity was not found.")
            }
            let fault = await scenario.nextFault(for: "rbm")
            if let fault, let status = fault.status {
                answer = RBMFake.error(status, status: status == 429 ? "RESOURCE_EXHAUSTED" : "UNAVAILABLE", message: "Simulated failure")
            }
            // RBM keeps the message before answering (a delayed answer does not undo it), and ignores
            // a later message with the same id, answering 409 ALREADY_EXISTS.
            if answer.status == 200, let messageId = answer.messageId, fault?.reset != true,
               !(await accepted.acceptRBM(messageId: messageId)) {
                answer = RBMFake.alreadyExists(messageId)
            }
            _ = await Simulator.apply(fault)
            try await Simulator.record(
                RecordedRequest(provider: "rbm", method: "POST", path: request.uri.path, form: nil, json: String(decoding: body, as: UTF8.self)),
                status: answer.status, providerMessageId: answer.messageId, fault: fault, recorder: recorder, context: context)
            if let callbacks, answer.status == 200, let messageId = answer.messageId {
                Task { await callbacks.rbm(phone: phone, messageId: messageId, faults: fault?.callbacks) }
            }
            return try Simulator.json(answer.body, status: answer.status, retryAfter: fault?.retryAfter)
        }
        // Google's OAuth token endpoint for a service account (the key file's token_uri).
        router.post("token") { request, context in
            var request = request
            let buffer = try await request.collectBody(upTo: 64 * 1024)
            let form = (try? FormURLEncoding.decode(buffer.readableBytesView)) ?? []
            let audience = "http://" + (request.head.authority ?? "") + request.uri.path
            let answer = googleTokens?.token(form: form, audience: audience)
                ?? GoogleTokenFake.error("unauthorized_client", "No service account is configured in the simulator.")
            await recorder.record(RecordedRequest(
                provider: "google-oauth", method: "POST", path: request.uri.path, form: form.map { [$0.0, $0.0 == "assertion" ? "(JWT)" : $0.1] },
                json: nil, responseStatus: answer.status, providerMessageId: nil, receivedAt: Date()))
            return try Simulator.json(answer.body, status: answer.status)
        }
        router.get("v1/phones/:phone/capabilities") { request, context in
            let phone = try context.parameters.require("phone")
            var answer = rbm.capabilities(phone: phone, authorization: request.headers[.authorization])
            if answer.status == 200, let declared = await scenario.rcsFeatures(of: phone) {
                if let features = declared {
                    answer.body = ["features": .array(features.map(JSONValue.string))]
                } else {
                    answer = RBMFake.error(404, status: "NOT_FOUND", message: "Requested entity was not found.")
                }
            }
            await recorder.record(RecordedRequest(
                provider: "rbm", method: "GET", path: request.uri.path, form: nil, json: nil,
                responseStatus: answer.status, providerMessageId: nil, receivedAt: Date()))
            return try Simulator.json(answer.body, status: answer.status)
        }
    }

    func webhook(for message: SimulatedInbound, sender: InboundWebhookSender) throws -> InboundWebhookSender.SignedWebhook {
        guard sender.accounts[RBMConfigurationSection.self]?.clientToken != nil else {
            throw InboundWebhookSender.MissingAccount(description: "signing RBM webhooks needs rbm.clientToken")
        }
        return try sender.rbmWebhook(payload: sender.rbmUserMessage(
            phone: message.from, text: message.text, postbackData: message.payload, messageId: message.messageId))
    }

    func newMessageId() -> String {
        UUID().uuidString
    }
}
