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
    let logger: Logger

    public init(settings: SimulatorSettings, logger: Logger = Logger(label: "switchboard.simulator")) {
        self.settings = settings
        self.recorder = RequestRecorder()
        self.logger = logger
    }

    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let accounts = settings.accounts
        let twilio = TwilioMessagesFake(accountSid: accounts.twilioAccountSid ?? "", authToken: accounts.twilioAuthToken ?? "")
        let messenger = MessengerSendFake(pageAccessToken: accounts.messengerPageAccessToken)
        let rbm = RBMFake(accessToken: accounts.rbmAccessToken)
        let recorder = self.recorder
        router.post("2010-04-01/Accounts/:accountSid/Messages.json") { request, context in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let form = (try? FormURLEncoding.decode(buffer.readableBytesView)) ?? []
            let answer = twilio.answer(
                pathAccountSid: try context.parameters.require("accountSid"),
                authorization: request.headers[.authorization], form: form)
            await recorder.record(RecordedRequest(
                provider: "twilio", method: "POST", path: request.uri.path, form: form.map { [$0.0, $0.1] }, json: nil,
                responseStatus: answer.status, providerMessageId: answer.sid, receivedAt: Date()))
            return try Self.json(answer.body, status: answer.status)
        }
        router.post(":version/me/messages") { request, context in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let answer = messenger.answer(accessToken: request.uri.queryParameters["access_token"].map(String.init), body: body)
            await recorder.record(RecordedRequest(
                provider: "messenger", method: "POST", path: request.uri.path, form: nil, json: String(decoding: body, as: UTF8.self),
                responseStatus: answer.status, providerMessageId: answer.messageId, receivedAt: Date()))
            return try Self.json(answer.body, status: answer.status)
        }
        router.post("v1/phones/:phone/agentMessages") { request, context in
            var request = request
            let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let answer = rbm.agentMessage(
                phone: try context.parameters.require("phone"),
                messageId: request.uri.queryParameters["messageId"].map(String.init),
                authorization: request.headers[.authorization], body: body)
            await recorder.record(RecordedRequest(
                provider: "rbm", method: "POST", path: request.uri.path, form: nil, json: String(decoding: body, as: UTF8.self),
                responseStatus: answer.status, providerMessageId: answer.messageId, receivedAt: Date()))
            return try Self.json(answer.body, status: answer.status)
        }
        router.get("v1/phones/:phone/capabilities") { request, context in
            let answer = rbm.capabilities(phone: try context.parameters.require("phone"), authorization: request.headers[.authorization])
            await recorder.record(RecordedRequest(
                provider: "rbm", method: "GET", path: request.uri.path, form: nil, json: nil,
                responseStatus: answer.status, providerMessageId: nil, receivedAt: Date()))
            return try Self.json(answer.body, status: answer.status)
        }
        router.get("_simulator/requests") { _, _ in
            try Self.json(RequestList(items: await recorder.all()), status: 200)
        }
        router.delete("_simulator/requests") { _, _ in
            await recorder.reset()
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

    static func json(_ value: some Encodable, status: Int) throws -> Response {
        let data = try GatewayJSON.encoder().encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
