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
        error_code, error_message, created_at, updated_at
        """

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
            createdAt: Timestamp.date(millis: try row.value("created_at")), updatedAt: Timestamp.date(millis: try row.value("updated_at")))
    }

    static func message(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Message? {
        try await connection.rows("SELECT \(unescaped: messageColumns) FROM messages WHERE id = \(id)", logger)
            .first.flatMap { try message(from: $0) }
    }

    static func encode(_ content: Content) throws -> String {
        String(decoding: try JSONEncoder().encode(content), as: UTF8.self)
    }

    static func decodeContent(_ json: String) throws -> Content {
        try JSONDecoder().decode(Content.self, from: Data(json.utf8))
    }

    static func loadContact(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Contact? {
        try await loadContacts(connection, ids: [id], logger: logger).first
    }

    /// Contacts with everything the panel shows, in the order of `ids` (missing ones left out):
    /// five queries for the whole page rather than five per contact.
    static func loadContacts(_ connection: PostgresConnection, ids: [String], logger: Logger) async throws -> [Contact] {
        guard !ids.isEmpty else { return [] }
        var contacts: [String: Contact] = [:]
        var phones: [String: String] = [:]
        for row in try await connection.rows("""
            SELECT id, name, photo_url, phone, bot_enabled, last_message_at, last_channel, attributes::text AS attributes
            FROM contacts WHERE id = ANY(\(ids))
            """, logger) {
            let id: String = try row.value("id")
            let attributesJSON: String = try row.value("attributes")
            let phone = try row.value("phone", as: String?.self)
            if let phone { phones[id] = phone }
            contacts[id] = Contact(
                id: id, name: try row.value("name", as: String?.self), photoUrl: try row.value("photo_url", as: String?.self),
                phone: phone, botEnabled: try row.value("bot_enabled"),
                lastMessageAt: try row.value("last_message_at", as: Int64?.self).map(Timestamp.date(millis:)),
                lastChannel: try row.value("last_channel", as: String?.self).flatMap(SwitchboardCore.Channel.init(rawValue:)), channels: [],
                subscriptions: [:], rcs: nil, facebook: nil,
                attributes: (try? JSONDecoder().decode([String: String].self, from: Data(attributesJSON.utf8))) ?? [:], tags: [])
        }
        guard !contacts.isEmpty else { return [] }
        let found = Array(contacts.keys)
        // Most recently used first; a Messenger channel also gives the Facebook panel (its latest).
        for row in try await connection.rows("""
            SELECT contact_id, channel, address, last_used_at, page_id, window_open_until FROM contact_channels
            WHERE contact_id = ANY(\(found)) ORDER BY contact_id, last_used_at DESC NULLS LAST, channel
            """, logger) {
            let id: String = try row.value("contact_id")
            guard let channel = SwitchboardCore.Channel(rawValue: try row.value("channel", as: String.self)) else { continue }
            let address: String = try row.value("address")
            contacts[id]?.channels.append(.init(
                channel: channel, address: address,
                lastUsedAt: try row.value("last_used_at", as: Int64?.self).map(Timestamp.date(millis:))))
            contacts[id]?.subscriptions[channel.rawValue] = true
            if channel == .messenger, contacts[id]?.facebook == nil {
                contacts[id]?.facebook = .init(
                    psid: address, pageId: try row.value("page_id", as: String?.self),
                    windowOpenUntil: try row.value("window_open_until", as: Int64?.self).map(Timestamp.date(millis:)))
            }
        }
        for row in try await connection.rows(
            "SELECT contact_id, channel, subscribed FROM subscriptions WHERE contact_id = ANY(\(found))", logger) {
            contacts[try row.value("contact_id", as: String.self)]?.subscriptions[try row.value("channel", as: String.self)] =
                try row.value("subscribed", as: Bool.self)
        }
        if !phones.isEmpty {
            var byPhone: [String: Contact.RCSInfo] = [:]
            for row in try await connection.rows(
                "SELECT phone, capable, features, checked_at FROM rcs_capabilities WHERE phone = ANY(\(Array(Set(phones.values))))", logger) {
                let featuresJSON: String = try row.value("features")
                byPhone[try row.value("phone")] = .init(
                    capable: try row.value("capable"),
                    features: (try? JSONDecoder().decode([String].self, from: Data(featuresJSON.utf8))) ?? [],
                    checkedAt: Timestamp.date(millis: try row.value("checked_at")))
            }
            for (id, phone) in phones { contacts[id]?.rcs = byPhone[phone] }
        }
        for row in try await connection.rows(
            "SELECT contact_id, tag FROM contact_tags WHERE contact_id = ANY(\(found)) ORDER BY lower(tag), tag", logger) {
            contacts[try row.value("contact_id", as: String.self)]?.tags.append(try row.value("tag"))
        }
        return ids.compactMap { contacts[$0] }
    }
}
