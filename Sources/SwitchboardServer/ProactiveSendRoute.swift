import Foundation
import Hummingbird
import HTTPTypes
import Logging
import SwitchboardCore
import SwitchboardStorage

/// `POST /api/v1/messages`: a message the business starts, to an address rather than a contact
/// (docs/api.md, "Proactive sends").
extension APIRoutes {
    struct ProactiveBody: Decodable {
        struct To: Decodable {
            var channel: String
            var address: String
        }
        struct Author: Decodable {
            var kind: String?
            var name: String?
        }
        var to: To
        var content: Content
        var author: Author?
    }

    func sendProactive(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await Self.jsonBody(
            request, as: ProactiveBody.self,
            expected: "{\"to\": {\"channel\", \"address\"}, \"content\": {...}, \"author\"?: {\"kind\"?, \"name\"?}}")
        guard let channel = SwitchboardCore.Channel(rawValue: body.to.channel) else {
            throw GatewayError(.unprocessableContent, code: "invalid_channel", message: "to.channel must be one of sms, rcs, messenger, webchat")
        }
        guard enabledChannels.contains(channel) else {
            throw GatewayError(.unprocessableContent, code: "channel_disabled", message: "the \(channel.rawValue) channel is not configured")
        }
        let address: String
        switch ProactiveAddress.normalize(body.to.address, channel: channel) {
        case .success(let normalized): address = normalized
        case .failure(let problem): throw GatewayError(.unprocessableContent, code: problem.code, message: problem.message)
        }
        if let problem = outbox.contentProblem(body.content, channel: channel) {
            throw GatewayError(.unprocessableContent, code: problem.code, message: problem.message)
        }
        let author: Message.Author
        switch body.author?.kind ?? "agent" {
        case "agent": author = .init(kind: .agent, name: body.author?.name)
        case "bot": author = .init(kind: .bot, name: body.author?.name)
        case "system": author = .init(kind: .system, name: body.author?.name)
        default: throw GatewayError(.unprocessableContent, code: "invalid_author", message: "author.kind is agent, bot or system")
        }
        let at = now()
        var claim: IdempotencyClaim?
        if let name = HTTPField.Name("Idempotency-Key"), let header = request.headers[name] {
            switch ProactiveAddress.idempotencyKey(header) {
            case .success(let key):
                let hash = try ProactiveAddress.fingerprint(channel: channel, address: address, content: body.content, author: author)
                claim = IdempotencyClaim(key: key, requestHash: hash, since: at.addingTimeInterval(-ProactiveAddress.idempotencyWindow))
            case .failure(let problem):
                throw GatewayError(.badRequest, code: problem.code, message: problem.message)
            }
            // A retry of a request already taken answers what the first did, whatever changed since.
            if let claim, let first = try await store.idempotentSend(key: claim.key, since: claim.since) {
                return try await replay(first, claim: claim)
            }
        }
        // The contact who uses the address (for a phone, on SMS or RCS) decides what may be sent.
        var contactId = try await store.contactId(channel: channel, address: address)
        if contactId == nil, channel == .sms || channel == .rcs {
            contactId = try await store.contactId(channel: channel == .sms ? .rcs : .sms, address: address)
        }
        var contact: Contact?
        if let contactId { contact = try await store.contact(id: contactId) }
        if contact?.subscriptions[channel.rawValue] == false {
            let error = OutboundPolicy.unsubscribed(channel)
            throw GatewayError(.conflict, code: error.code, message: error.message)
        }
        if channel == .messenger,
           OutboundPolicy.messengerWindow(
            now: at, windowOpenUntil: contact?.facebook?.windowOpenUntil, author: author.kind, allowHumanAgentTag: allowHumanAgentTag) == .refused {
            throw GatewayError(
                .conflict, code: OutboundPolicy.outsideWindow.code,
                message: contact == nil ? "this PSID has never written to the page: Messenger allows no message to it" : OutboundPolicy.outsideWindow.message)
        }
        if channel == .webchat, contact == nil {
            throw GatewayError(.notFound, code: "visitor_not_found", message: "no web-chat visitor \(address) has written")
        }
        let result: ProactiveSendResult
        do {
            result = try await store.enqueueProactive(
                ProactiveSend(channel: channel, address: address, content: body.content, author: author), idempotency: claim, at: at)
        } catch StoreError.idempotencyKeyBusy {
            throw GatewayError(.conflict, code: "idempotency_key_busy", message: "a request with this Idempotency-Key is being handled: try again")
        }
        switch result {
        case .replayed(let first):
            guard let claim else {
                throw GatewayError(.internalServerError, code: "internal_error", message: "a send without an Idempotency-Key was answered as a replay")
            }
            return try await replay(first, claim: claim)
        case .queued(let message, let created):
            context.logger.info("proactive message queued", metadata: [
                "message_id": "\(message.id)", "contact_id": "\(message.contactId)", "channel": "\(channel.rawValue)",
                "contact_created": "\(created)", "idempotency_key": "\(claim != nil)",
            ])
            outbox.wake()
            events.publish(.created(message))
            if created, let contact = try await store.contact(id: message.contactId) { events.publish(.changed(contact)) }
            return try jsonResponse(message, status: .accepted)
        }
    }

    /// The first request's message (200), or 422 when the key came with another request.
    private func replay(_ first: IdempotentSend, claim: IdempotencyClaim) async throws -> Response {
        guard first.requestHash == claim.requestHash else {
            throw GatewayError(
                .unprocessableContent, code: "idempotency_key_reused",
                message: "this Idempotency-Key was used in the last 24 hours with a different request")
        }
        guard let message = try await store.message(id: first.messageId) else {
            throw GatewayError(.notFound, code: "message_not_found", message: "the message this key sent, \(first.messageId), is gone")
        }
        return try jsonResponse(message, status: .ok)
    }
}
