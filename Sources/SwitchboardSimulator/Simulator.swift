import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// The provider simulator: fake provider send APIs on loopback that record what they receive, and
/// an inspection API (`GET`/`DELETE /_simulator/requests`).
public struct Simulator: Sendable {
    public let settings: SimulatorSettings
    public let recorder: RequestRecorder
    public let scenario: SimulatorScenario
    /// The connections clients opened (`GET /_simulator/stats`).
    public let connections = ConnectionLog()
    /// When set, accepted messages are followed by the provider's status callbacks.
    public let callbacks: StatusCallbacks?
    /// What the fake providers accepted (Twilio's message list, RBM's used message ids).
    public let accepted = AcceptedMessages()
    let logger: Logger

    public init(settings: SimulatorSettings, callbacks: StatusCallbacks? = nil, logger: Logger = Logger(label: "switchboard.simulator")) {
        self.settings = settings
        self.recorder = RequestRecorder()
        self.scenario = SimulatorScenario()
        self.callbacks = callbacks
        self.logger = logger
    }

    public func buildRouter() -> Router<SimulatorRequestContext> {
        let router = Router(context: SimulatorRequestContext.self)
        router.add(middleware: ConnectionCountingMiddleware(log: connections))
        let connections = self.connections
        let accounts = settings.accounts
        let twilio = TwilioMessagesFake(accountSid: accounts.twilioAccountSid ?? "", authToken: accounts.twilioAuthToken ?? "")
        let messenger = MessengerSendFake(pageAccessToken: accounts.messengerPageAccessToken)
        let googleTokens = accounts.rbmServiceAccountPublicKey.flatMap {
            try? GoogleTokenFake(
                publicKeyPEM: $0, lifetime: settings.rbmTokenLifetimeSeconds,
                advertisedLifetime: settings.rbmTokenAdvertisedLifetimeSeconds)
        }
        if accounts.rbmServiceAccountPublicKey != nil, googleTokens == nil {
            logger.error("the RBM service account's public key is not an RSA public key in PEM: the token endpoint refuses every request")
        }
        let rbm = RBMFake(accessToken: accounts.rbmAccessToken, serviceAccountTokens: googleTokens)
        let recorder = self.recorder
        let scenario = self.scenario
        let callbacks = self.callbacks
        let accepted = self.accepted
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
            _ = await Self.apply(fault)
            try await Self.record(
                RecordedRequest(provider: "twilio", method: "POST", path: request.uri.path, form: form.map { [$0.0, $0.1] }, json: nil),
                status: answer.status, providerMessageId: answer.sid, fault: fault, recorder: recorder, context: context)
            if let callbacks, let sid = answer.sid {
                Task { await callbacks.twilio(sid: sid, form: form, faults: fault?.callbacks) }
            }
            return try Self.json(answer.body, status: answer.status, retryAfter: fault?.retryAfter)
        }
        router.get("2010-04-01/Accounts/:accountSid/Messages.json") { request, context in
            let query = (try? FormURLEncoding.decode(Array((request.uri.query ?? "").utf8))) ?? []
            let answer = await twilio.list(
                pathAccountSid: try context.parameters.require("accountSid"), authorization: request.headers[.authorization],
                query: query, accepted: accepted)
            await recorder.record(RecordedRequest(
                provider: "twilio", method: "GET", path: request.uri.path, form: query.map { [$0.0, $0.1] }, json: nil,
                responseStatus: answer.status, providerMessageId: nil, receivedAt: Date()))
            return try Self.json(answer.body, status: answer.status)
        }
        router.post(":version/me/messages") { request, context in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            var answer = messenger.answer(accessToken: request.uri.queryParameters["access_token"].map(String.init), body: body)
            let fault = await Self.apply(scenario.nextFault(for: "messenger"))
            if let fault, let status = fault.status {
                let code = fault.errorCode ?? (status == 429 ? 613 : 2)
                answer = MessengerSendFake.error(status: status, code: code, type: "OAuthException", message: MessengerSendFake.message(forCode: code))
            }
            try await Self.record(
                RecordedRequest(provider: "messenger", method: "POST", path: request.uri.path, form: nil, json: String(decoding: body, as: UTF8.self)),
                status: answer.status, providerMessageId: answer.messageId, fault: fault, recorder: recorder, context: context)
            if let callbacks, let mid = answer.messageId, case .string(let recipient)? = answer.body["recipient_id"] {
                Task { await callbacks.messenger(recipient: recipient, mid: mid, faults: fault?.callbacks) }
            }
            return try Self.json(answer.body, status: answer.status, retryAfter: fault?.retryAfter)
        }
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
            _ = await Self.apply(fault)
            try await Self.record(
                RecordedRequest(provider: "rbm", method: "POST", path: request.uri.path, form: nil, json: String(decoding: body, as: UTF8.self)),
                status: answer.status, providerMessageId: answer.messageId, fault: fault, recorder: recorder, context: context)
            if let callbacks, answer.status == 200, let messageId = answer.messageId {
                Task { await callbacks.rbm(phone: phone, messageId: messageId, faults: fault?.callbacks) }
            }
            return try Self.json(answer.body, status: answer.status, retryAfter: fault?.retryAfter)
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
            return try Self.json(answer.body, status: answer.status)
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
            return try Self.json(answer.body, status: answer.status)
        }
        // Media a simulated phone "sent" (MMS MediaUrl, Messenger attachment): a small picture
        // drawn here, so attachments render without any network.
        router.get("_simulator/media/:name") { _, context in
            let name = context.parameters.get("name") ?? "photo"
            let label = String(name.prefix(40)).map { "<>&\"'".contains($0) ? " " : String($0) }.joined()
            let svg = """
                <svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200">\
                <rect width="320" height="200" fill="#cfe3f7"/><circle cx="255" cy="50" r="24" fill="#f5c542"/>\
                <path d="M0 160 L90 80 L150 140 L210 95 L320 170 V200 H0 Z" fill="#5a8f5a"/>\
                <text x="16" y="188" font-family="sans-serif" font-size="16" fill="#fff">\(label)</text></svg>
                """
            var headers = HTTPFields()
            headers[.contentType] = "image/svg+xml"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: svg)))
        }
        router.get("_simulator/callbacks") { _, _ in
            struct CallbackList: Encodable { var items: [SentCallback] }
            return try Self.json(CallbackList(items: await callbacks?.log.all() ?? []), status: 200)
        }
        router.get("_simulator/stats") { _, _ in
            struct Stats: Encodable { var requests: Int; var connections: Int }
            return try Self.json(Stats(requests: await recorder.count(), connections: await connections.count()), status: 200)
        }
        router.get("_simulator/requests") { _, _ in
            try Self.json(RequestList(items: await recorder.all()), status: 200)
        }
        router.post("_simulator/faults") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            guard let fault = try? JSONDecoder().decode(SimulatedFault.self, from: Data(body.readableBytesView)) else {
                return try Self.json(["error": "expected {provider, status?, retryAfter?, delayMilliseconds?, errorCode?, count?}"], status: 400)
            }
            await scenario.add(fault)
            return Response(status: .noContent)
        }
        router.delete("_simulator/faults") { _, _ in
            await scenario.clearFaults()
            return Response(status: .noContent)
        }
        router.post("_simulator/phones") { request, _ in
            struct Phone: Decodable { var phone: String; var rcsFeatures: [String]? }
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            guard let phone = try? JSONDecoder().decode(Phone.self, from: Data(body.readableBytesView)) else {
                return try Self.json(["error": "expected {phone, rcsFeatures: [..] or null}"], status: 400)
            }
            await scenario.setPhone(phone.phone, rcsFeatures: phone.rcsFeatures)
            return Response(status: .noContent)
        }
        router.delete("_simulator/requests") { _, _ in
            await recorder.reset()
            await accepted.reset()
            await connections.reset()
            await callbacks?.log.reset()
            return Response(status: .noContent)
        }
        return router
    }

    /// The simulator as an application on `settings.host:settings.port`.
    public func buildApplication(
        onServerRunning: @escaping @Sendable (any NIOCore.Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "switchboard-simulator"),
            onServerRunning: onServerRunning,
            logger: logger)
    }

    struct RequestList: Encodable {
        var items: [RecordedRequest]
    }

    /// Waits out a fault's delay and hands it on.
    /// Records a send call with the answer's status and provider id; or, when the fault asks for a
    /// reset, with status 0, and drops the connection instead of answering.
    static func record(
        _ call: RecordedRequest, status: Int, providerMessageId: String?, fault: SimulatedFault?, recorder: RequestRecorder,
        context: SimulatorRequestContext
    ) async throws {
        var call = call
        if fault?.reset == true {
            await recorder.record(call)
            try await context.resetConnection()
        }
        call.responseStatus = status
        call.providerMessageId = providerMessageId
        await recorder.record(call)
    }

    static func apply(_ fault: SimulatedFault?) async -> SimulatedFault? {
        if let delay = fault?.delayMilliseconds, delay > 0 {
            try? await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000)
        }
        return fault
    }

    /// A provider's answer body (the fast path: written by hand, see `JSONValue.write`).
    static func json(_ body: [String: JSONValue], status: Int, retryAfter: Int? = nil) throws -> Response {
        var text = ""
        JSONValue.object(body).write(into: &text)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable, status: Int, retryAfter: Int? = nil) throws -> Response {
        let data = try GatewayJSON.encoder().encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
