import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

extension PostgresConnection {
    /// Runs a statement and returns its rows (none for most writes).
    @discardableResult
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }
}

extension PostgresRandomAccessRow {
    /// The column's value, decoded.
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

/// Reading rows back into the normalized model.
extension PostgresStore {
    /// The columns of `messages`, in the order `message(from:)` reads them.
    static let messageColumns = """
        id, contact_id, channel, direction, author_kind, author_name, content, status, provider_message_id,
        error_code, error_message, reaction_emoji, reaction_name, reaction_at, created_at, updated_at
        """

    /// `messageColumns` of the table aliased `m`, for a join.
    static let qualifiedMessageColumns = messageColumns.split(separator: ",")
        .map { "m." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    static func message(from row: PostgresRandomAccessRow) throws -> Message? {
        guard let channel = SwitchboardCore.Channel(rawValue: try row.value("channel", as: String.self)),
              let direction = Message.Direction(rawValue: try row.value("direction", as: String.self)),
              let authorKind = Message.Author.Kind(rawValue: try row.value("author_kind", as: String.self)),
              let status = MessageStatus(rawValue: try row.value("status", as: String.self))
        else { return nil }
        let errorCode = try row.value("error_code", as: String?.self)
        let errorMessage = try row.value("error_message", as: String?.self)
        return Message(
            id: try row.value("id"), contactId: try row.value("contact_id"), channel: channel, direction: direction,
            author: .init(kind: authorKind, name: try row.value("author_name", as: String?.self)),
            content: try decodeContent(try row.value("content")), status: status,
            providerMessageId: try row.value("provider_message_id", as: String?.self),
            error: errorCode.map { MessageError(code: $0, message: errorMessage ?? "") },
            reaction: try row.value("reaction_at", as: Int64?.self).map {
                Message.Reaction(
                    emoji: try row.value("reaction_emoji", as: String?.self), name: try row.value("reaction_name", as: String?.self),
                    at: Timestamp.date(millis: $0))
            },
            createdAt: Timestamp.date(millis: try row.value("created_at")), updatedAt: Timestamp.date(millis: try row.value("updated_at")))
    }

    static func message(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Message? {
        try await connection.rows("SELECT \(unescaped: messageColumns) FROM messages WHERE id = \(id)", logger)
            .first.flatMap { try message(from: $0) }
    }

    static func encode(_ content: Content) throws -> String {
        try ContentJSON.encode(content)
    }

    static func decodeContent(_ json: String) throws -> Content {
        try ContentJSON.decode(json)
    }

    static func loadContact(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Contact? {
        try await loadContacts(connection, ids: [id], logger: logger).first
    }

    /// Contacts with everything the panel shows, in the order of `ids` (missing ones left out): one
    /// query for the whole page, the channels, subscriptions and tags aggregated as JSON per contact
    /// (`switchboard_contacts`, migration v17).
    static func loadContacts(_ connection: PostgresConnection, ids: [String], logger: Logger) async throws -> [Contact] {
        guard !ids.isEmpty else { return [] }
        var contacts: [String: Contact] = [:]
        for row in try await connection.rows("SELECT * FROM switchboard_contacts(\(ids), false)", logger) {
            guard let contact = try contact(from: row) else { continue }
            contacts[contact.id] = contact
        }
        return ids.compactMap { contacts[$0] }
    }

    /// A row of `switchboard_contacts` as the normalized contact; nil when the row's `id` is null
    /// (a LATERAL call that matched nothing).
    static func contact(from row: PostgresRandomAccessRow) throws -> Contact? {
        guard let id = try row.value("id", as: String?.self) else { return nil }
        let decoder = JSONDecoder()
        let json = { (column: String) throws -> Data in Data(try row.value(column, as: String.self).utf8) }
        var contact = Contact(
            id: id, name: try row.value("name", as: String?.self), photoUrl: try row.value("photo_url", as: String?.self),
            phone: try row.value("phone", as: String?.self), botEnabled: try row.value("bot_enabled"),
            lastMessageAt: try row.value("last_message_at", as: Int64?.self).map(Timestamp.date(millis:)),
            lastChannel: try row.value("last_channel", as: String?.self).flatMap(SwitchboardCore.Channel.init(rawValue:)), channels: [],
            subscriptions: [:], rcs: nil, facebook: nil,
            attributes: (try? decoder.decode([String: String].self, from: try json("attributes"))) ?? [:],
            tags: try decoder.decode([String].self, from: try json("tags")))
        // Most recently used first; a Messenger channel also gives the Facebook panel (its latest).
        for entry in try decoder.decode([ChannelRow].self, from: try json("channels")) {
            guard let channel = SwitchboardCore.Channel(rawValue: entry.channel) else { continue }
            contact.channels.append(.init(channel: channel, address: entry.address, lastUsedAt: entry.lastUsedAt.map(Timestamp.date(millis:))))
            contact.subscriptions[channel.rawValue] = true
            if channel == .messenger, contact.facebook == nil {
                contact.facebook = .init(
                    psid: entry.address, pageId: entry.pageId, windowOpenUntil: entry.windowOpenUntil.map(Timestamp.date(millis:)))
            }
        }
        for (channel, subscribed) in try decoder.decode([String: Bool].self, from: try json("subscriptions")) {
            contact.subscriptions[channel] = subscribed
        }
        if contact.phone != nil, let capable = try row.value("rcs_capable", as: Bool?.self) {
            contact.rcs = .init(
                capable: capable,
                features: (try row.value("rcs_features", as: String?.self)).flatMap { try? decoder.decode([String].self, from: Data($0.utf8)) } ?? [],
                checkedAt: try row.value("rcs_checked_at", as: Int64?.self).map(Timestamp.date(millis:)))
        }
        return contact
    }

    /// One `contact_channels` row as `loadContacts` aggregates it.
    private struct ChannelRow: Decodable {
        var channel: String
        var address: String
        var lastUsedAt: Int64?
        var pageId: String?
        var windowOpenUntil: Int64?
    }
}
