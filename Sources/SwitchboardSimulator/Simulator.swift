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
        for provider in SimulatedProviders.all(settings: settings, logger: logger) {
            provider.addRoutes(to: router, simulator: self)
        }
        let recorder = self.recorder
        let scenario = self.scenario
        let callbacks = self.callbacks
        let accepted = self.accepted
        // Media a simulated phone "sent" (MMS MediaUrl, Messenger attachment): a small picture
        // drawn here, so attachments render without any network (`NAME.png` a PNG, else an SVG).
        router.get("_simulator/media/:name") { request, context in
            let name = context.parameters.get("name") ?? "photo"
            // Meta's CDN links carry their expiry as `oe`, Unix seconds in hex: past it, 403.
            if let expiry = request.uri.queryParameters["oe"].flatMap({ Int64(String($0), radix: 16) }),
               Double(expiry) < Date().timeIntervalSince1970 {
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "URL signature expired")))
            }
            if name.lowercased().hasSuffix(".png") {
                var headers = HTTPFields()
                headers[.contentType] = "image/png"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: SamplePicture.png(named: name))))
            }
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
