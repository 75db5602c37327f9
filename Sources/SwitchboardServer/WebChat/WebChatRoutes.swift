import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage

/// `POST /webchat/sessions` and `GET /webchat/ws` (docs/webchat-protocol.md).
struct WebChatRoutes: Sendable {
    let pipeline: IngestPipeline
    let store: any MessageStore
    let hub: WebChatHub
    let tokens: WebChatToken
    let sessionLifetime: TimeInterval
    let limits: GatewayConfiguration.Limits
    let sessionRate: ClientRateLimiter
    /// Frames over this many bytes close the socket (docs/webchat-protocol.md).
    static let maxFrameBytes = 64 * 1024
    static let maxResume = 500
    /// The close code for a socket opened with a token that is not (or no longer) valid: a browser
    /// cannot read the HTTP status of a refused upgrade, so the refusal is said over the socket.
    static let invalidSessionCloseCode: UInt16 = 4401

    func addSessions(to router: Router<GatewayRequestContext>) {
        router.post("webchat/sessions") { request, context in
            // Anyone may ask for a session: per client address, a few a minute.
            if let wait = sessionRate.take(context.clientAddress ?? "unknown") {
                var refusal = GatewayError(
                    .tooManyRequests, code: "rate_limited", message: "too many web-chat sessions from this address; retry in \(wait) s")
                refusal.headers[.retryAfter] = String(wait)
                refusal.headers[.accessControlAllowOrigin] = "*"
                throw refusal
            }
            var request = request
            let body = try await request.collectBody(upTo: 16 * 1024)
            let now = Date()
            var visitorId: String?
            var startedAt = now
            if body.readableBytes > 0 {
                struct Renewal: Decodable { var token: String? }
                guard let renewal = try? JSONDecoder().decode(Renewal.self, from: Data(body.readableBytesView)) else {
                    throw GatewayError(.badRequest, code: "malformed_body", message: "the body must be empty or {\"token\": \"...\"}")
                }
                // A visitor coming back with a valid token keeps their id (and their conversation),
                // until the session's total age runs out: then a new session begins.
                if let claims = renewal.token.flatMap({ tokens.claims(for: $0, now: now) }),
                   now.timeIntervalSince(claims.startedAt ?? now) < limits.webChatSessionMaxAgeSeconds {
                    visitorId = claims.visitorId
                    startedAt = claims.startedAt ?? now
                }
            }
            let session = tokens.issue(
                visitorId: visitorId ?? SortableID.make(prefix: "v_"),
                expiresAt: min(now.addingTimeInterval(sessionLifetime), startedAt.addingTimeInterval(limits.webChatSessionMaxAgeSeconds)),
                startedAt: startedAt)
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
        router.ws("webchat/ws") { _, _ in
            // A refused upgrade can only be Hummingbird's bare 400, which a browser cannot read:
            // the token is checked once the socket is open, and a bad one is told so there.
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let token = context.request.uri.queryParameters["token"],
                  let visitor = tokens.visitor(for: String(token), now: Date())
            else {
                await reply(.error(code: "invalid_session", message: "a valid visitor token is required (POST /webchat/sessions)"), outbound: outbound)
                try? await outbound.close(.unknown(Self.invalidSessionCloseCode), reason: "invalid_session")
                return
            }
            var logger = context.requestContext.logger
            logger[metadataKey: "channel"] = "webchat"
            guard let connection = await hub.attach(visitorId: visitor, writer: outbound, limit: limits.webSocketsPerVisitor) else {
                logger.info("web-chat socket refused: too many sockets for this visitor", metadata: [
                    "visitor_id": "\(visitor)", "limit": "\(limits.webSocketsPerVisitor)",
                ])
                await reply(.error(code: "too_many_sockets", message: "\(limits.webSocketsPerVisitor) sockets are open for this visitor"), outbound: outbound)
                try? await outbound.close(.policyViolation, reason: "too_many_sockets")
                return
            }
            do {
                // On shutdown the socket is closed with 1001 (going away), and the read loop is
                // cancelled: Hummingbird's server waits for every connection to end, and the loop
                // would wait for the visitor. The widget reconnects (to another instance, or this
                // one restarted) and resumes.
                let logger = logger
                try await withGracefulShutdownHandler {
                    try await cancelWhenGracefulShutdown {
                        try await readFrames(inbound, outbound: outbound, visitor: visitor, logger: logger)
                    }
                } onGracefulShutdown: {
                    Task { try? await outbound.close(.goingAway, reason: "server shutting down") }
                }
            } catch {
                logger.debug("web-chat socket closed", metadata: ["error": "\(error)"])
            }
            await hub.detach(visitorId: visitor, connection: connection)
        }
    }

    /// The visitor's frames until the socket closes, within the socket's frame budget.
    func readFrames(
        _ inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, visitor: String, logger: Logger
    ) async throws {
        var frames = FrameBudget(perSecond: limits.webChatFramesPerSecond, burst: limits.webChatFrameBurst)
        for try await message in inbound.messages(maxSize: Self.maxFrameBytes) {
            guard frames.take(now: Date()) else {
                await reply(.error(code: "rate_limited", message: "too many frames; reconnect later"), outbound: outbound)
                try? await outbound.close(.policyViolation, reason: "rate_limited")
                return
            }
            guard case .text(let text) = message else {
                await reply(.error(code: "unsupported_frame", message: "frames are JSON text"), outbound: outbound)
                continue
            }
            await handle(text, visitor: visitor, outbound: outbound, logger: logger)
        }
    }

    func handle(_ text: String, visitor: String, outbound: WebSocketOutboundWriter, logger: Logger) async {
        let request: VisitorFrame.Request
        do {
            request = try VisitorFrame.request(from: text)
        } catch {
            await reply(.error(code: error.code, message: error.message), outbound: outbound)
            return
        }
        switch request {
        case .message(let content, let clientId):
            // A client id makes resent frames idempotent; without one every frame is new.
            let providerId = clientId.map { "\(visitor):\($0)" } ?? SortableID.make(prefix: "wc_")
            do {
                let result = try await pipeline.ingest(
                    InboundMessage(channel: .webchat, senderAddress: visitor, providerMessageId: providerId, content: content),
                    logger: logger)
                switch result {
                case .stored(let message, _, let replies):
                    await reply(.message(message, clientId: clientId), outbound: outbound)
                    if !replies.isEmpty { pipeline.wakeOutbox() }
                case .duplicate(let messageId):
                    if let message = try await store.message(id: messageId) {
                        await reply(.message(message, clientId: clientId), outbound: outbound)
                    }
                }
            } catch {
                logger.error("web-chat message not stored", metadata: ["error": "\(error)"])
                await reply(.error(code: "storage_unavailable", message: "the message was not stored; send it again"), outbound: outbound)
            }
        case .resume(let since):
            do {
                guard let contactId = try await store.contactId(channel: .webchat, address: visitor) else { return }
                for message in try await store.messages(contactId: contactId, after: since ?? "", limit: Self.maxResume)
                where message.channel == .webchat && message.author.kind != .system {
                    // The web-chat conversation only: agents' notes and a merged contact's other
                    // channels are not the visitor's to see.
                    await reply(.message(message), outbound: outbound)
                }
            } catch {
                await reply(.error(code: "storage_unavailable", message: "resume failed; try again"), outbound: outbound)
            }
        case .read(let messageId):
            do {
                // Only a message sent to this visitor can be read by them: the id is checked against
                // the visitor's own contact before anything is written (ids are guessable neighbours).
                guard let contactId = try await store.contactId(channel: .webchat, address: visitor),
                      let target = try await store.message(id: messageId),
                      target.contactId == contactId, target.channel == .webchat, target.direction == .outbound
                else {
                    await reply(.error(code: "unknown_message", message: "no message \(messageId.prefix(64)) was sent to you"), outbound: outbound)
                    return
                }
                // Web-chat messages carry their own id as the provider id. The receipt goes through
                // the pipeline as any channel's status report does (the consoles on every instance
                // show the reply read; event webhooks get message.status).
                if let message = try await pipeline.apply(
                    StatusUpdate(channel: .webchat, providerMessageId: target.id, status: .read), logger: logger) {
                    await hub.push(.status(messageId: message.id, status: message.status), to: visitor)
                }
            } catch {
                await reply(.error(code: "storage_unavailable", message: "the read receipt was not stored"), outbound: outbound)
            }
        case .typing:
            try? await pipeline.ingest([.typing(channel: .webchat, senderAddress: visitor)], logger: logger)
        }
    }

    func reply(_ frame: GatewayFrame, outbound: WebSocketOutboundWriter) async {
        guard let data = try? GatewayJSON.encoder().encode(frame) else { return }
        try? await outbound.write(.text(String(decoding: data, as: UTF8.self)))
    }
}
