import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Writes to a contact shared by ingest, bot effects and the API, inside their transactions.
extension PostgresStore {
    static func setAttribute(
        _ connection: PostgresConnection, contactId: String, name: String, value: String?, at now: Int64, logger: Logger
    ) async throws {
        if let value {
            try await connection.rows("""
                UPDATE contacts SET attributes = attributes || jsonb_build_object(\(name)::text, \(value)::text), updated_at = \(now)
                WHERE id = \(contactId)
                """, logger)
        } else {
            try await connection.rows(
                "UPDATE contacts SET attributes = attributes - \(name)::text, updated_at = \(now) WHERE id = \(contactId)", logger)
        }
    }

    /// Tags a contact, with the catalogue's spelling of the tag (names compare without case).
    static func assignTag(_ connection: PostgresConnection, contactId: String, tag: String, at now: Int64, logger: Logger) async throws {
        try await connection.rows("INSERT INTO tags (name, created_at) VALUES (\(tag), \(now)) ON CONFLICT DO NOTHING", logger)
        try await connection.rows("""
            INSERT INTO contact_tags (contact_id, tag)
            SELECT \(contactId), name FROM tags WHERE lower(name) = lower(\(tag)) ON CONFLICT DO NOTHING
            """, logger)
    }

    static func isSubscribed(_ connection: PostgresConnection, contactId: String, channel: SwitchboardCore.Channel, logger: Logger) async throws -> Bool {
        try await connection.rows(
            "SELECT subscribed FROM subscriptions WHERE contact_id = \(contactId) AND channel = \(channel.rawValue)", logger
        ).first?.value("subscribed", as: Bool.self) ?? true
    }

    static func setSubscription(
        _ connection: PostgresConnection, contactId: String, channel: SwitchboardCore.Channel, subscribed: Bool, at now: Int64, logger: Logger
    ) async throws {
        try await connection.rows("""
            INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at) VALUES (\(contactId), \(channel.rawValue), \(subscribed), \(now))
            ON CONFLICT (contact_id, channel) DO UPDATE SET subscribed = excluded.subscribed, updated_at = excluded.updated_at
            """, logger)
    }

    /// Marks the contact's latest activity (in or out) and the channel address it used.
    static func touch(
        _ connection: PostgresConnection, contactId: String, channel: SwitchboardCore.Channel, address: String?, at now: Int64, logger: Logger
    ) async throws {
        try await connection.rows("""
            UPDATE contacts SET last_message_at = \(now), last_channel = \(channel.rawValue), updated_at = \(now) WHERE id = \(contactId)
            """, logger)
        if let address {
            try await connection.rows(
                "UPDATE contact_channels SET last_used_at = \(now) WHERE channel = \(channel.rawValue) AND address = \(address)", logger)
        }
    }

    /// True when the contact exists (locking its row against a concurrent merge or delete).
    static func lockContact(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Bool {
        !(try await connection.rows("SELECT 1 FROM contacts WHERE id = \(id) FOR UPDATE", logger)).isEmpty
    }
}
