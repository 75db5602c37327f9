import Foundation
import NIOCore
import ServiceLifecycle
import HTTPTypes
import Logging
import Hummingbird
import SwitchboardCore
import SwitchboardStorage

/// `/api/v1/*`: the conversations API, behind the bearer token.
struct APIRoutes: Sendable {
    let store: any MessageStore
    let outbox: OutboxWorker
    let rcsCapabilities: RCSCapabilityTable
    let events: EventBus
    let eventStreams: OpenSlots
    let enabledChannels: Set<SwitchboardCore.Channel>
    let allowHumanAgentTag: Bool
    let now: @Sendable () -> Date
    /// Tells the broadcast worker a broadcast was created.
    var broadcastWake: (@Sendable () -> Void)?

    func add(to router: Router<GatewayRequestContext>, apiToken: String?) {
        let api = router.group("api/v1").add(middleware: BearerTokenMiddleware(token: apiToken))
        api.get("contacts") { request, _ in
            let limit = try Self.limit(request)
            let parameters = request.uri.queryParameters
            var filter = ContactFilter(query: parameters["query"].map(String.init), tag: parameters["tag"].map(String.init))
            if let channel = parameters["channel"] {
                guard let parsed = SwitchboardCore.Channel(rawValue: String(channel)) else {
                    throw GatewayError(.badRequest, code: "invalid_channel", message: "channel must be one of sms, rcs, messenger, webchat")
                }
                filter.channel = parsed
            }
            do {
                return try jsonResponse(try await store.contacts(filter, limit: limit, cursor: parameters["cursor"].map(String.init)))
            } catch StoreError.invalidCursor(let cursor) {
                throw GatewayError(.badRequest, code: "invalid_cursor", message: "cursor '\(cursor)' was not issued by this API")
            }
        }
        api.get("contacts/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let contact = try await store.contact(id: id) else {
                throw GatewayError(.notFound, code: "contact_not_found", message: "no contact with id \(id)")
            }
            return try jsonResponse(contact)
        }
        api.get("contacts/:id/messages") { request, context in
            let id = try context.parameters.require("id")
            guard try await store.contact(id: id) != nil else {
                throw GatewayError(.notFound, code: "contact_not_found", message: "no contact with id \(id)")
            }
            let page = try await store.messages(
                contactId: id, limit: try Self.limit(request), before: request.uri.queryParameters["before"].map(String.init))
            return try jsonResponse(page)
        }
        api.patch("contacts/:id") { request, context in
            let id = try context.parameters.require("id")
            let fields = try await Self.jsonObject(request)
            var patch = ContactPatch()
            for (key, value) in fields {
                switch (key, value) {
                case ("name", let name as String): patch.name = .some(String(name.prefix(200)))
                case ("name", is NSNull): patch.name = .some(nil)
                case ("photoUrl", let url as String) where ExternalURL.isAcceptable(url, allowHTTP: false):
                    patch.photoUrl = .some(url)
                case ("photoUrl", is NSNull): patch.photoUrl = .some(nil)
                case ("botEnabled", _) where Self.jsonBoolean(value) != nil:
                    patch.botEnabled = Self.jsonBoolean(value)
                default:
                    throw GatewayError(
                        .unprocessableContent, code: "invalid_field",
                        message: "'\(key)' cannot be set: name (string or null), photoUrl (https URL or null), botEnabled (boolean)")
                }
            }
            return try await contactResponse(try await store.updateContact(id: id, patch: patch, at: now()), id: id)
        }
        api.put("contacts/:id/attributes/:name") { request, context in
            let id = try context.parameters.require("id")
            let name = try Self.pathValue(context, "name")
            guard AttributeName.isValid(name) else {
                throw GatewayError(.unprocessableContent, code: "invalid_attribute_name", message: "attribute names are \(AttributeName.rule)")
            }
            guard let value = try await Self.jsonObject(request)["value"] as? String else {
                throw GatewayError(.unprocessableContent, code: "invalid_attribute_value", message: "send {\"value\": \"a string\"}")
            }
            guard value.count <= AttributeName.maxValueLength else {
                throw GatewayError(
                    .unprocessableContent, code: "invalid_attribute_value", message: "values are at most \(AttributeName.maxValueLength) characters")
            }
            return try await contactResponse(try await store.setAttribute(contactId: id, name: name, value: value, at: now()), id: id)
        }
        api.delete("contacts/:id/attributes/:name") { _, context in
            let id = try context.parameters.require("id")
            let name = try Self.pathValue(context, "name")
            guard let contact = try await store.contact(id: id) else { throw Self.noContact(id) }
            guard contact.attributes[name] != nil else {
                throw GatewayError(.notFound, code: "attribute_not_found", message: "the contact has no attribute '\(name)'")
            }
            return try await contactResponse(try await store.setAttribute(contactId: id, name: name, value: nil, at: now()), id: id)
        }
        api.put("contacts/:id/subscriptions/:channel") { request, context in
            let id = try context.parameters.require("id")
            guard let channel = SwitchboardCore.Channel(rawValue: try context.parameters.require("channel")) else {
                throw GatewayError(.notFound, code: "invalid_channel", message: "channel must be one of sms, rcs, messenger, webchat")
            }
            guard let subscribed = try await Self.jsonObject(request)["subscribed"].flatMap(Self.jsonBoolean) else {
                throw GatewayError(.unprocessableContent, code: "invalid_subscription", message: "send {\"subscribed\": true or false}")
            }
            return try await contactResponse(
                try await store.setSubscription(contactId: id, channel: channel, subscribed: subscribed, at: now()), id: id)
        }
        api.post("contacts/:id/merge") { request, context in
            let id = try context.parameters.require("id")
            guard let from = try await Self.jsonObject(request)["from"] as? String else {
                throw GatewayError(.unprocessableContent, code: "invalid_merge", message: "send {\"from\": \"ct_...\"}")
            }
            guard from != id else {
                guard try await store.contact(id: id) != nil else { throw Self.noContact(id) }
                throw GatewayError(.conflict, code: "invalid_merge", message: "a contact cannot be merged into itself")
            }
            guard let merged = try await store.mergeContact(from, into: id, at: now()) else {
                throw GatewayError(.notFound, code: "contact_not_found", message: "no contact \(id) or \(from)")
            }
            return try await contactResponse(merged, id: id)
        }
        api.get("tags") { _, _ in
            struct Tags: Encodable { var items: [TagCount] }
            return try jsonResponse(Tags(items: try await store.tags()))
        }
        api.post("tags") { request, _ in
            guard let name = try await Self.jsonObject(request)["name"] as? String, TagName.isValid(name) else {
                throw GatewayError(.unprocessableContent, code: "invalid_tag_name", message: "send {\"name\": ...}: \(TagName.rule)")
            }
            guard try await store.createTag(name, at: now()) else {
                throw GatewayError(.conflict, code: "tag_exists", message: "the tag '\(name)' exists")
            }
            return try jsonResponse(["name": name], status: .created)
        }
        api.delete("tags/:name") { _, context in
            let name = try Self.pathValue(context, "name")
            guard try await store.deleteTag(name) else {
                throw GatewayError(.notFound, code: "tag_not_found", message: "no tag '\(name)'")
            }
            return Response(status: .noContent)
        }
        api.put("contacts/:id/tags/:name") { _, context in
            let id = try context.parameters.require("id")
            let name = try Self.pathValue(context, "name")
            guard TagName.isValid(name) else {
                throw GatewayError(.unprocessableContent, code: "invalid_tag_name", message: "tag names are \(TagName.rule)")
            }
            return try await contactResponse(try await store.assignTag(contactId: id, tag: name, at: now()), id: id)
        }
        api.delete("contacts/:id/tags/:name") { _, context in
            let id = try context.parameters.require("id")
            let name = try Self.pathValue(context, "name")
            guard let contact = try await store.contact(id: id) else { throw Self.noContact(id) }
            guard contact.tags.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) else {
                throw GatewayError(.notFound, code: "tag_not_assigned", message: "the contact has no tag '\(name)'")
            }
            return try await contactResponse(try await store.unassignTag(contactId: id, tag: name), id: id)
        }
        addWebhookDeliveries(to: api)
        addBroadcasts(to: api)
        api.get("events") { _, _ in
            // Each stream holds a connection and a subscription for as long as a console is open.
            guard eventStreams.acquire() else {
                var refusal = GatewayError(
                    .tooManyRequests, code: "too_many_event_streams",
                    message: "\(eventStreams.limit) event streams are open; close one or try again later")
                refusal.headers[.retryAfter] = "10"
                throw refusal
            }
            let (stream, end) = events.subscribe()
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                defer { eventStreams.release() }
                // A comment first, so clients know the stream is open; then one event per change.
                try await writer.write(ByteBuffer(string: ": switchboard events\n\n"))
                let encoder = GatewayJSON.encoder()
                // The stream ends when the gateway shuts down, so open consoles do not hold it up.
                try await withGracefulShutdownHandler {
                    for await event in stream where event.isComplete {
                        let data = String(decoding: try encoder.encode(event), as: UTF8.self)
                        try await writer.write(ByteBuffer(string: "event: \(event.type.rawValue)\ndata: \(data)\n\n"))
                    }
                } onGracefulShutdown: {
                    end()
                }
                try await writer.finish(nil)
            })
        }
        api.post("contacts/:id/messages") { request, context in
            try await sendAgentReply(request, contactId: try context.parameters.require("id"), context: context)
        }
        api.post("messages") { request, context in
            try await sendProactive(request, context: context)
        }
        api.get("messages") { request, _ in
            guard let text = request.uri.queryParameters["status"].map(String.init), let status = MessageStatus(rawValue: text) else {
                throw GatewayError(.badRequest, code: "invalid_status", message: "status is required: one of \(MessageStatus.allCases.map(\.rawValue))")
            }
            return try jsonResponse(try await store.messages(
                status: status, limit: try Self.limit(request), before: request.uri.queryParameters["before"].map(String.init)))
        }
        api.get("rcs/capabilities/:phone") { _, context in
            let raw = try context.parameters.require("phone")
            guard let phone = PhoneNumber.e164(raw.removingPercentEncoding ?? raw) else {
                throw GatewayError(.badRequest, code: "invalid_phone", message: "'\(raw)' is not an E.164 phone number")
            }
            switch await rcsCapabilities.capability(of: phone, now: now()) {
            case .known(let record):
                return try jsonResponse(record)
            case .unknown(let error) where error.code == "channel_disabled":
                throw GatewayError(.notFound, code: error.code, message: "the rcs channel is not configured, and no static entry covers \(phone)")
            case .unknown(let error):
                throw GatewayError(.serviceUnavailable, code: error.code, message: "the capability is not known now: \(error.message)")
            }
        }
        api.get("messages/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let message = try await store.message(id: id) else {
                throw GatewayError(.notFound, code: "message_not_found", message: "no message with id \(id)")
            }
            return try jsonResponse(message)
        }
    }

    /// `POST /api/v1/contacts/{id}/messages`: an agent's reply, through the same outbound rules as
    /// every message (docs/outbound.md): refused early when it could not go out.
    func sendAgentReply(_ request: Request, contactId: String, context: GatewayRequestContext) async throws -> Response {
        struct Body: Decodable {
            struct Author: Decodable {
                var name: String?
                /// `agent` (the default) or `bot` (an external bot answering later).
                var kind: String?
            }
            var channel: String?
            var content: Content
            var author: Author?
        }
        let body = try await Self.jsonBody(
            request, as: Body.self, expected: "{\"channel\"?, \"content\": {...}, \"author\"?: {\"name\"?}}")
        guard let contact = try await store.contact(id: contactId) else {
            throw GatewayError(.notFound, code: "contact_not_found", message: "no contact with id \(contactId)")
        }
        let channel: SwitchboardCore.Channel
        if let name = body.channel {
            guard let named = SwitchboardCore.Channel(rawValue: name) else {
                throw GatewayError(.unprocessableContent, code: "invalid_channel", message: "channel must be one of sms, rcs, messenger, webchat")
            }
            channel = named
        } else if let last = contact.lastChannel ?? contact.channels.first?.channel {
            channel = last
        } else {
            throw GatewayError(.unprocessableContent, code: "no_channel", message: "the contact has no channel to reply on")
        }
        guard enabledChannels.contains(channel) else {
            throw GatewayError(.unprocessableContent, code: "channel_disabled", message: "the \(channel.rawValue) channel is not configured")
        }
        // RCS goes to the phone; the others to the address the contact wrote from.
        let address = contact.channels.first { $0.channel == channel }?.address ?? (channel == .rcs ? contact.phone : nil)
        guard let recipient = address else {
            throw GatewayError(.unprocessableContent, code: "no_address_on_channel", message: "the contact has no \(channel.rawValue) address")
        }
        if let problem = outbox.contentProblem(body.content, channel: channel) {
            throw GatewayError(.unprocessableContent, code: problem.code, message: problem.message)
        }
        if contact.subscriptions[channel.rawValue] == false {
            let error = OutboundPolicy.unsubscribed(channel)
            throw GatewayError(.conflict, code: error.code, message: error.message)
        }
        if channel == .messenger,
           OutboundPolicy.messengerWindow(
            now: now(), windowOpenUntil: contact.facebook?.windowOpenUntil, author: .agent, allowHumanAgentTag: allowHumanAgentTag) == .refused {
            throw GatewayError(.conflict, code: OutboundPolicy.outsideWindow.code, message: OutboundPolicy.outsideWindow.message)
        }
        let authorKind: Message.Author.Kind
        switch body.author?.kind ?? "agent" {
        case "agent": authorKind = .agent
        case "bot": authorKind = .bot
        default: throw GatewayError(.unprocessableContent, code: "invalid_author", message: "author.kind is agent or bot")
        }
        let message = try await store.enqueueOutbound(
            contactId: contact.id, channel: channel, recipient: recipient, content: body.content,
            author: Message.Author(kind: authorKind, name: body.author?.name), at: now())
        context.logger.info("agent reply queued", metadata: [
            "message_id": "\(message.id)", "contact_id": "\(contact.id)", "channel": "\(channel.rawValue)",
        ])
        outbox.wake()
        events.publish(.created(message))
        return try jsonResponse(message, status: .accepted)
    }

    /// The contact after a change (published to the event stream), or 404.
    func contactResponse(_ contact: Contact?, id: String) async throws -> Response {
        guard let contact else { throw Self.noContact(id) }
        events.publish(.changed(contact))
        return try jsonResponse(contact)
    }

    static func noContact(_ id: String) -> GatewayError {
        GatewayError(.notFound, code: "contact_not_found", message: "no contact with id \(id)")
    }

    /// A path parameter, percent-decoded (tag names may hold spaces).
    static func pathValue(_ context: GatewayRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }

    /// The request's JSON object body (415 without application/json, 400 when it is not an object).
    /// A JSON body (415 unless `application/json`, 413 past `maxBytes`) decoded as `type`; 400
    /// `malformed_body` saying what was `expected` otherwise.
    static func jsonBody<Body: Decodable>(
        _ request: Request, as type: Body.Type, expected: String, maxBytes: Int = 256 * 1024
    ) async throws -> Body {
        var request = request
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw GatewayError(.unsupportedMediaType, code: "unsupported_media_type", message: "send application/json")
        }
        let buffer = try await request.collectBody(upTo: maxBytes)
        do {
            return try GatewayJSON.decoder().decode(Body.self, from: Data(buffer.readableBytesView))
        } catch {
            throw GatewayError(.badRequest, code: "malformed_body", message: "expected \(expected)")
        }
    }

    static func jsonObject(_ request: Request) async throws -> [String: Any] {
        var request = request
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw GatewayError(.unsupportedMediaType, code: "unsupported_media_type", message: "send application/json")
        }
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw GatewayError(.badRequest, code: "malformed_body", message: "the body must be a JSON object")
        }
        return object
    }

    /// A JSON `true` or `false` as JSONSerialization hands it over, and not a number: both come as
    /// NSNumber, which casts to Bool either way; a boolean's is of type "c".
    static func jsonBoolean(_ value: Any) -> Bool? {
        guard let flag = value as? Bool else { return nil }
        if let number = value as? NSNumber, String(cString: number.objCType) != "c" { return nil }
        return flag
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return 50 }
        guard let value = Int(String(text)), (1...200).contains(value) else {
            throw GatewayError(.badRequest, code: "invalid_limit", message: "limit must be a whole number from 1 to 200")
        }
        return value
    }
}

/// Refuses requests without `Authorization: Bearer <SWITCHBOARD_API_TOKEN>`, comparing in constant time.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !token.isEmpty else {
            throw GatewayError(
                .unauthorized, code: "api_token_not_configured",
                message: "set SWITCHBOARD_API_TOKEN (or run serve --dev) to use the API")
        }
        let presentedToken: Substring
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            presentedToken = header.dropFirst("Bearer ".count)
        } else if request.uri.path.hasSuffix("/events"), let query = request.uri.queryParameters["access_token"] {
            // Browsers' EventSource cannot send headers: the event stream also takes the token in the query.
            presentedToken = query[...]
        } else {
            throw GatewayError(.unauthorized, code: "unauthorized", message: "send Authorization: Bearer <API token>")
        }
        let presented = Array(presentedToken.utf8)
        let expected = Array(token.utf8)
        var difference = presented.count == expected.count ? 0 : 1
        for (index, byte) in expected.enumerated() {
            difference |= Int(byte ^ (index < presented.count ? presented[index] : 0))
        }
        guard difference == 0 else {
            throw GatewayError(.unauthorized, code: "unauthorized", message: "the API token is not valid")
        }
        return try await next(request, context)
    }
}
