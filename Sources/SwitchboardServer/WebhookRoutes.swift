import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// The provider webhook routes: read the body within the limit, let the channel's adapter verify
/// and decode it, store the events, and only then acknowledge.
struct WebhookRoutes: Sendable {
    let pipeline: IngestPipeline
    /// The public base URL, without a trailing slash, which providers sign over.
    let publicURL: String
    let maxBodyBytes: Int
    let maxFormParameters: Int
    let maxJSONDepth: Int

    /// Registers each of the channel's webhook endpoints: a request its handshake recognizes is
    /// answered with the handshake's text, any other is verified, decoded, stored and acknowledged.
    /// A channel without an adapter (missing secrets) answers 404 `channel_disabled`.
    func add(_ registered: RegisteredChannel, to router: Router<GatewayRequestContext>) {
        let handshake = registered.handshake
        let channel = registered.channel
        let handler: @Sendable (Request, GatewayRequestContext) async throws -> Response = { request, context in
            guard let adapter = registered.adapter else { throw Self.disabled(channel) }
            var request = request
            let webhook = try await self.webhookRequest(&request)
            if let handshake {
                let answer: String?
                do throws(WebhookError) {
                    answer = try handshake.handshakeAnswer(webhook)
                } catch {
                    context.logger.warning(
                        "webhook handshake refused", metadata: ["channel": "\(channel.rawValue)", "reason": "\(error.reason)"])
                    throw GatewayError(error)
                }
                if let answer {
                    var headers = HTTPFields()
                    headers[.contentType] = "text/plain; charset=utf-8"
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
                }
            }
            return try await self.process(webhook, path: request.uri.path, context: context, adapter: adapter)
        }
        for endpoint in registered.webhookEndpoints {
            if endpoint.method == "GET" {
                router.get(RouterPath(endpoint.path), use: handler)
            } else {
                router.post(RouterPath(endpoint.path), use: handler)
            }
        }
    }

    static func disabled(_ channel: SwitchboardCore.Channel) -> GatewayError {
        GatewayError(.notFound, code: "channel_disabled", message: "the \(channel.rawValue) channel is not configured on this gateway")
    }

    /// The request as adapters see it: the body read within the limit (413 above it), its shape
    /// checked (parameter count, JSON nesting) before any adapter parses or verifies it.
    func webhookRequest(_ request: inout Request) async throws -> WebhookRequest {
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        let webhook = WebhookRequest(
            method: request.method.rawValue,
            publicURL: publicURL + request.uri.description,
            query: request.uri.queryParameters.map { (String($0.key), String($0.value)) },
            headers: Self.headers(request.headers),
            body: Array(buffer.readableBytesView))
        do throws(WebhookShape.Refusal) {
            try WebhookShape.check(
                webhook.body, mediaType: webhook.mediaType, maxFormParameters: maxFormParameters, maxJSONDepth: maxJSONDepth)
        } catch {
            switch error {
            case .tooManyParameters(let limit):
                throw GatewayError(.contentTooLarge, code: "too_many_parameters", message: "the form has more than \(limit) parameters")
            case .tooDeep(let limit):
                throw GatewayError(.badRequest, code: "malformed_body", message: "the JSON nests deeper than \(limit) levels")
            }
        }
        return webhook
    }

    /// Verify and decode through the adapter, store, and only then acknowledge.
    func process(
        _ webhook: WebhookRequest, path: String, context: GatewayRequestContext, adapter: any InboundChannelAdapter
    ) async throws -> Response {
        // The channel goes into each log call's metadata rather than into the logger: setting a
        // logger's metadata makes swift-log's stream handler re-render all of it, on every webhook.
        let logger = context.logger
        let channel = adapter.channel.rawValue
        let events: [InboundEvent]
        do {
            events = try adapter.verifiedEvents(webhook)
        } catch {
            logger.warning("webhook refused", metadata: ["channel": "\(channel)", "reason": "\(error.reason)", "path": "\(path)"])
            GatewayMetrics.webhookRefused(channel: adapter.channel.rawValue, reason: GatewayError(error).code)
            throw GatewayError(error)
        }
        do {
            try await pipeline.ingest(events, logger: logger)
        } catch {
            // Not acknowledged: the provider keeps the message and retries.
            logger.error("webhook not stored", metadata: ["channel": "\(channel)", "error": "\(error)"])
            throw GatewayError(.serviceUnavailable, code: "storage_unavailable", message: "the message could not be stored; retry later")
        }
        let ack = adapter.acknowledgement
        var headers = HTTPFields()
        headers[.contentType] = ack.contentType
        return Response(
            status: .init(code: ack.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: ack.body)))
    }

    static func headers(_ fields: HTTPFields) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields {
            let name = field.name.canonicalName
            if let existing = headers[name] {
                headers[name] = existing + ", " + field.value
            } else {
                headers[name] = field.value
            }
        }
        return headers
    }
}
