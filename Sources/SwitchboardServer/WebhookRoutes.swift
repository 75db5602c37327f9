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

    /// Registers `POST path` for `adapter`; a nil adapter (missing secrets) answers 404 `channel_disabled`.
    func addPost(_ path: RouterPath, channel: SwitchboardCore.Channel, adapter: (any InboundChannelAdapter)?, to router: Router<GatewayRequestContext>) {
        router.post(path) { request, context in
            guard let adapter else {
                throw GatewayError(
                    .notFound, code: "channel_disabled",
                    message: "the \(channel.rawValue) channel is not configured on this gateway")
            }
            return try await self.handle(request, context: context, adapter: adapter)
        }
    }

    func handle(_ request: Request, context: GatewayRequestContext, adapter: any InboundChannelAdapter) async throws -> Response {
        var logger = context.logger
        logger[metadataKey: "channel"] = "\(adapter.channel.rawValue)"
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        let webhook = WebhookRequest(
            method: request.method.rawValue,
            publicURL: publicURL + request.uri.description,
            query: request.uri.queryParameters.map { (String($0.key), String($0.value)) },
            headers: Self.headers(request.headers),
            body: Array(buffer.readableBytesView))
        let events: [InboundEvent]
        do {
            events = try adapter.verifiedEvents(webhook)
        } catch {
            logger.warning("webhook refused", metadata: ["reason": "\(error.reason)", "path": "\(request.uri.path)"])
            throw GatewayError(error)
        }
        do {
            try await pipeline.ingest(events, logger: logger)
        } catch {
            // Not acknowledged: the provider keeps the message and retries.
            logger.error("webhook not stored", metadata: ["error": "\(error)"])
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
