import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardStorage

/// `POST /webchat/sessions` and `GET /webchat/ws` (docs/webchat-protocol.md).
struct WebChatRoutes: Sendable {
    let pipeline: IngestPipeline
    let store: any MessageStore
    let hub: WebChatHub
    let tokens: WebChatToken
    let sessionLifetime: TimeInterval
    /// Frames over this many bytes close the socket.
    static let maxFrameBytes = 64 * 1024
    static let maxResume = 500

    func addSessions(to router: Router<GatewayRequestContext>) {
        router.post("webchat/sessions") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 16 * 1024)
            var visitorId: String?
            if body.readableBytes > 0 {
                struct Renewal: Decodable { var token: String? }
                guard let renewal = try? JSONDecoder().decode(Renewal.self, from: Data(body.readableBytesView)) else {
                    throw GatewayError(.badRequest, code: "malformed_body", message: "the body must be empty or {\"token\": \"...\"}")
                }
                // A visitor coming back with a valid token keeps their id (and their conversation).
                visitorId = renewal.token.flatMap { tokens.visitor(for: $0, now: Date()) }
            }
            let session = tokens.issue(
                visitorId: visitorId ?? SortableID.make(prefix: "v_"), expiresAt: Date().addingTimeInterval(sessionLifetime))
            var response = try jsonResponse(session, status: .created)
            response.headers[.accessControlAllowOrigin] = "*"
            return response
        }
        // The widget runs on the business's own website, another origin: its JSON POST is preceded
        // by a CORS preflight. Sessions carry no cookies, so any origin may ask for one.
        router.on("webchat/sessions", method: .options) { _, _ in
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = "*"
            headers[.accessControlAllowMethods] = "POST"
            headers[.accessControlAllowHeaders] = "Content-Type"
            headers[.accessControlMaxAge] = "86400"
            return Response(status: .noContent, headers: headers)
        }
    }

    func addSocket(to router: Router<GatewayRequestContext>) {
        router.ws("webchat/ws") { request, _ in
            guard let token = request.uri.queryParameters["token"], tokens.visitor(for: String(token), now: Date()) != nil else {
                throw GatewayError(.unauthorized, code: "invalid_session", message: "a valid visitor token is required (POST /webchat/sessions)")
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let token = context.request.uri.queryParameters["token"],
                  let visitor = tokens.visitor(for: String(token), now: Date())
            else { return }
            var logger = context.requestContext.logger
            logger[metadataKey: "channel"] = "webchat"
            let connection = await hub.attach(visitorId: visitor, writer: outbound)
            do {
                for try await message in inbound.messages(maxSize: Self.maxFrameBytes) {
                    guard case .text(let text) = message else {
                        await reply(.error(code: "unsupported_frame", message: "frames are JSON text"), visitor: visitor, outbound: outbound)
                        continue
                    }
                    await handle(text, visitor: visitor, outbound: outbound, logger: logger)
                }
            } catch {
                logger.debug("web-chat socket closed", metadata: ["error": "\(error)"])
            }
            await hub.detach(visitorId: visitor, connection: connection)
        }
    }

    func handle(_ text: String, visitor: String, outbound: WebSocketOutboundWriter, logger: Logger) async {
        guard let frame = try? JSONDecoder().decode(VisitorFrame.self, from: Data(text.utf8)) else {
            await reply(.error(code: "malformed_frame", message: "a frame is a JSON object with a type"), visitor: visitor, outbound: outbound)
            return
        }
        switch frame.type {
        case "message":
            var content = Content(text: frame.text)
            if let payload = frame.payload { content.postback = .init(title: frame.text, payload: payload) }
            guard !content.isEmpty else {
                await reply(.error(code: "empty_message", message: "a message needs text or a payload"), visitor: visitor, outbound: outbound)
                return
            }
            // A client id makes resent frames idempotent; without one every frame is new.
            let providerId = frame.id.map { "\(visitor):\($0)" } ?? SortableID.make(prefix: "wc_")
            do {
                let result = try await pipeline.ingest(
                    InboundMessage(channel: .webchat, senderAddress: visitor, providerMessageId: providerId, content: content),
                    logger: logger)
                switch result {
                case .stored(let message, _, let replies):
                    await reply(.message(message, clientId: frame.id), visitor: visitor, outbound: outbound)
                    if !replies.isEmpty { pipeline.wakeOutbox() }
                case .duplicate(let messageId):
                    if let message = try await store.message(id: messageId) {
                        await reply(.message(message, clientId: frame.id), visitor: visitor, outbound: outbound)
                    }
                }
            } catch {
                logger.error("web-chat message not stored", metadata: ["error": "\(error)"])
                await reply(.error(code: "storage_unavailable", message: "the message was not stored; send it again"), visitor: visitor, outbound: outbound)
            }
        case "resume":
            do {
                guard let contactId = try await store.contactId(channel: .webchat, address: visitor) else { return }
                for message in try await store.messages(contactId: contactId, after: frame.since ?? "", limit: Self.maxResume)
                where message.channel == .webchat && message.author.kind != .system {
                    // The web-chat conversation only: agents' notes and a merged contact's other
                    // channels are not the visitor's to see.
                    await reply(.message(message), visitor: visitor, outbound: outbound)
                }
            } catch {
                await reply(.error(code: "storage_unavailable", message: "resume failed; try again"), visitor: visitor, outbound: outbound)
            }
        case "read":
            guard let messageId = frame.messageId else {
                await reply(.error(code: "malformed_frame", message: "a read frame names a messageId"), visitor: visitor, outbound: outbound)
                return
            }
            do {
                // Web-chat messages carry their own id as the provider id.
                if let message = try await store.applyStatus(
                    StatusUpdate(channel: .webchat, providerMessageId: messageId, status: .read), at: Date()) {
                    await hub.push(.status(messageId: message.id, status: message.status), to: visitor)
                }
            } catch {
                await reply(.error(code: "storage_unavailable", message: "the read receipt was not stored"), visitor: visitor, outbound: outbound)
            }
        case "typing":
            logger.debug("visitor typing")
        default:
            await reply(.error(code: "unknown_frame_type", message: "unknown frame type '\(frame.type)'"), visitor: visitor, outbound: outbound)
        }
    }

    func reply(_ frame: GatewayFrame, visitor: String, outbound: WebSocketOutboundWriter) async {
        guard let data = try? GatewayJSON.encoder().encode(frame) else { return }
        try? await outbound.write(.text(String(decoding: data, as: UTF8.self)))
    }
}
