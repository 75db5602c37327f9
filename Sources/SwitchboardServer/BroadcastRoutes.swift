import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardStorage

/// `/api/v1/broadcasts`: one message to each contact of some tags and ids, fanned out in the
/// background (`BroadcastWorker`), with counts by status.
extension APIRoutes {
    /// The most contact ids one broadcast names (tags reach any number).
    static let maxBroadcastContactIds = 100_000
    static let maxBroadcastTags = 50

    func addBroadcasts(to api: RouterGroup<GatewayRequestContext>) {
        api.post("broadcasts") { request, context in
            try await createBroadcast(request, context: context)
        }
        api.get("broadcasts") { request, _ in
            let cursor = request.uri.queryParameters["cursor"].map(String.init)
            if let cursor, !cursor.hasPrefix(Broadcast.idPrefix) || cursor.utf8.count > 64 {
                throw GatewayError(.badRequest, code: "invalid_cursor", message: "cursor '\(cursor)' was not issued by this API")
            }
            return try jsonResponse(try await store.broadcasts(limit: try Self.limit(request), before: cursor))
        }
        api.get("broadcasts/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let broadcast = try await store.broadcast(id: id) else { throw Self.noBroadcast(id) }
            return try jsonResponse(broadcast)
        }
        api.post("broadcasts/:id/cancel") { _, context in
            let id = try context.parameters.require("id")
            switch try await store.cancelBroadcast(id: id, at: now()) {
            case .cancelled(let broadcast):
                context.logger.info("broadcast cancelled", metadata: ["broadcast_id": "\(id)", "cancelled": "\(broadcast.counts.cancelled)"])
                return try jsonResponse(broadcast)
            case .finished(let broadcast):
                throw GatewayError(.conflict, code: "broadcast_finished", message: "broadcast \(id) is already \(broadcast.status.rawValue)")
            case .notFound:
                throw Self.noBroadcast(id)
            }
        }
    }

    static func noBroadcast(_ id: String) -> GatewayError {
        GatewayError(.notFound, code: "broadcast_not_found", message: "no broadcast with id \(id)")
    }

    func createBroadcast(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        struct Body: Decodable {
            struct Target: Decodable {
                var tags: [String]?
                var contactIds: [String]?
            }
            struct Author: Decodable {
                var kind: String?
                var name: String?
            }
            var target: Target
            var channel: String?
            var content: Content
            var author: Author?
        }
        let body = try await Self.jsonBody(
            request, as: Body.self, expected: "{\"target\": {\"tags\"?: [...], \"contactIds\"?: [...]}, \"channel\"?, \"content\": {...}}",
            maxBytes: 4 * 1024 * 1024)
        let givenTags = body.target.tags ?? []
        guard givenTags.count <= Self.maxBroadcastTags else {
            throw GatewayError(.unprocessableContent, code: "invalid_target", message: "target.tags: at most \(Self.maxBroadcastTags) tags")
        }
        var tags: [String] = []
        var seenTags: Set<String> = []
        for tag in givenTags where seenTags.insert(tag.lowercased()).inserted {
            guard TagName.isValid(tag) else {
                throw GatewayError(.unprocessableContent, code: "invalid_tag_name", message: "target.tags: tag names are \(TagName.rule)")
            }
            tags.append(tag)
        }
        let givenIds = body.target.contactIds ?? []
        var seen: Set<String> = []
        let ids = givenIds.count <= Self.maxBroadcastContactIds ? givenIds.filter { seen.insert($0).inserted } : givenIds
        guard ids.count <= Self.maxBroadcastContactIds else {
            throw GatewayError(
                .unprocessableContent, code: "invalid_target", message: "target.contactIds: at most \(Self.maxBroadcastContactIds) ids")
        }
        if let bad = ids.first(where: { !$0.hasPrefix(SortableID.contactPrefix) || $0.utf8.count > 64 }) {
            throw GatewayError(
                .unprocessableContent, code: "invalid_target", message: "target.contactIds: '\(bad.prefix(64))' is not a contact id (ct_…)")
        }
        guard !tags.isEmpty || !ids.isEmpty else {
            throw GatewayError(.unprocessableContent, code: "invalid_target", message: "target needs tags or contactIds")
        }
        var channel: SwitchboardCore.Channel?
        if let name = body.channel {
            guard let named = SwitchboardCore.Channel(rawValue: name) else {
                throw GatewayError(.unprocessableContent, code: "invalid_channel", message: "channel must be one of sms, rcs, messenger, webchat")
            }
            guard enabledChannels.contains(named) else {
                throw GatewayError(.unprocessableContent, code: "channel_disabled", message: "the \(named.rawValue) channel is not configured")
            }
            channel = named
        }
        // Without a channel, each recipient's last used one: the content must suit every channel it may go on.
        for candidate in channel.map({ [$0] }) ?? SwitchboardCore.Channel.allCases.filter(enabledChannels.contains) {
            if let problem = outbox.contentProblem(body.content, channel: candidate) {
                let on = channel == nil ? " (on \(candidate.rawValue), which some recipients may use; name a channel to narrow)" : ""
                throw GatewayError(.unprocessableContent, code: problem.code, message: problem.message + on)
            }
        }
        let authorKind: Message.Author.Kind
        switch body.author?.kind ?? "system" {
        case "system": authorKind = .system
        case "agent": authorKind = .agent
        case "bot": authorKind = .bot
        default: throw GatewayError(.unprocessableContent, code: "invalid_author", message: "author.kind is system, agent or bot")
        }
        let draft = BroadcastDraft(
            target: BroadcastTarget(tags: tags, contactIds: ids), channel: channel, content: body.content,
            author: Message.Author(kind: authorKind, name: body.author?.name.map { String($0.prefix(200)) }))
        let broadcast: Broadcast
        do {
            broadcast = try await store.createBroadcast(draft, at: now())
        } catch BroadcastStoreError.unknownTags(let names) {
            throw GatewayError(.unprocessableContent, code: "tag_not_found", message: "no tag named \(names.joined(separator: ", "))")
        } catch BroadcastStoreError.unknownContacts(let ids) {
            throw GatewayError(
                .unprocessableContent, code: "contact_not_found", message: "no contact with id \(ids.prefix(10).joined(separator: ", "))")
        } catch BroadcastStoreError.noRecipients {
            throw GatewayError(.unprocessableContent, code: "no_recipients", message: "the target's tags have no contacts")
        }
        context.logger.info("broadcast accepted", metadata: ["broadcast_id": "\(broadcast.id)", "recipients": "\(broadcast.recipients)"])
        broadcastWake?()
        return try jsonResponse(broadcast, status: .accepted)
    }
}
