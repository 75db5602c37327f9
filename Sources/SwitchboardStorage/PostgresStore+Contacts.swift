import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Changes agents make to contacts through the API: the panel's fields, attributes, subscriptions, tags.
extension PostgresStore {
    public func updateContact(id: String, patch: ContactPatch, at now: Date) async throws -> Contact? {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            guard try await Self.lockContact(connection, id: id, logger: logger) else { return nil }
            if let name = patch.name {
                try await connection.rows("UPDATE contacts SET name = \(name), updated_at = \(nowMillis) WHERE id = \(id)", logger)
            }
            if let photo = patch.photoUrl {
                try await connection.rows("UPDATE contacts SET photo_url = \(photo), updated_at = \(nowMillis) WHERE id = \(id)", logger)
            }
            if let enabled = patch.botEnabled {
                try await connection.rows("UPDATE contacts SET bot_enabled = \(enabled), updated_at = \(nowMillis) WHERE id = \(id)", logger)
                // Turning the bot back on starts its flow afresh.
                if enabled { try await connection.rows("DELETE FROM bot_state WHERE contact_id = \(id)", logger) }
            }
            return try await Self.loadContact(connection, id: id, logger: logger)
        }
    }

    public func setAttribute(contactId: String, name: String, value: String?, at now: Date) async throws -> Contact? {
        let logger = logger
        return try await transaction { connection in
            guard try await Self.lockContact(connection, id: contactId, logger: logger) else { return nil }
            try await Self.setAttribute(connection, contactId: contactId, name: name, value: value, at: Timestamp.millis(now), logger: logger)
            return try await Self.loadContact(connection, id: contactId, logger: logger)
        }
    }

    public func setSubscription(contactId: String, channel: SwitchboardCore.Channel, subscribed: Bool, at now: Date) async throws -> Contact? {
        let logger = logger
        return try await transaction { connection in
            guard try await Self.lockContact(connection, id: contactId, logger: logger) else { return nil }
            try await Self.setSubscription(
                connection, contactId: contactId, channel: channel, subscribed: subscribed, at: Timestamp.millis(now), logger: logger)
            return try await Self.loadContact(connection, id: contactId, logger: logger)
        }
    }

    public func mergeContact(_ sourceId: String, into targetId: String, at now: Date) async throws -> Contact? {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            // Both rows locked in id order.
            let locked = try await connection.rows("""
                SELECT id FROM contacts WHERE id = ANY(\([sourceId, targetId])) ORDER BY id FOR UPDATE
                """, logger)
            guard locked.count == 2 else { return nil }
            try await connection.rows("UPDATE contact_channels SET contact_id = \(targetId) WHERE contact_id = \(sourceId)", logger)
            try await connection.rows("UPDATE messages SET contact_id = \(targetId) WHERE contact_id = \(sourceId)", logger)
            try await connection.rows("UPDATE bot_deliveries SET contact_id = \(targetId) WHERE contact_id = \(sourceId)", logger)
            try await connection.rows("""
                INSERT INTO contact_tags (contact_id, tag) SELECT \(targetId), tag FROM contact_tags WHERE contact_id = \(sourceId)
                ON CONFLICT DO NOTHING
                """, logger)
            // The target's own choices win; the source fills what the target lacks.
            try await connection.rows("""
                INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at)
                SELECT \(targetId), channel, subscribed, updated_at FROM subscriptions WHERE contact_id = \(sourceId)
                ON CONFLICT DO NOTHING
                """, logger)
            try await connection.rows("""
                UPDATE contacts t SET
                    attributes = s.attributes || t.attributes,
                    name = COALESCE(t.name, s.name),
                    photo_url = COALESCE(t.photo_url, s.photo_url),
                    phone = COALESCE(t.phone, s.phone),
                    last_channel = CASE WHEN COALESCE(s.last_message_at, -1) > COALESCE(t.last_message_at, -1)
                        THEN s.last_channel ELSE t.last_channel END,
                    last_message_at = NULLIF(GREATEST(COALESCE(t.last_message_at, -1), COALESCE(s.last_message_at, -1)), -1),
                    updated_at = \(nowMillis)
                FROM contacts s WHERE t.id = \(targetId) AND s.id = \(sourceId)
                """, logger)
            try await connection.rows("DELETE FROM contacts WHERE id = \(sourceId)", logger)
            return try await Self.loadContact(connection, id: targetId, logger: logger)
        }
    }

    public func tags() async throws -> [TagCount] {
        let logger = logger
        return try await read { connection in
            try await connection.rows("""
                SELECT t.name, (SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag = t.name) AS count
                FROM tags t ORDER BY lower(t.name), t.name
                """, logger).map { TagCount(name: try $0.value("name"), contactCount: Int(clamping: try $0.value("count", as: Int64.self))) }
        }
    }

    public func createTag(_ name: String, at now: Date) async throws -> Bool {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            // The unique index on lower(name) makes another spelling of an existing tag a conflict.
            !(try await connection.rows(
                "INSERT INTO tags (name, created_at) VALUES (\(name), \(nowMillis)) ON CONFLICT DO NOTHING RETURNING name", logger)).isEmpty
        }
    }

    public func deleteTag(_ name: String) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            // contact_tags rows go with the tag (ON DELETE CASCADE).
            !(try await connection.rows("DELETE FROM tags WHERE lower(name) = lower(\(name)) RETURNING name", logger)).isEmpty
        }
    }

    public func assignTag(contactId: String, tag: String, at now: Date) async throws -> Contact? {
        let logger = logger
        return try await transaction { connection in
            guard try await Self.lockContact(connection, id: contactId, logger: logger) else { return nil }
            try await Self.assignTag(connection, contactId: contactId, tag: tag, at: Timestamp.millis(now), logger: logger)
            return try await Self.loadContact(connection, id: contactId, logger: logger)
        }
    }

    public func unassignTag(contactId: String, tag: String) async throws -> Contact? {
        let logger = logger
        return try await transaction { connection in
            guard try await Self.lockContact(connection, id: contactId, logger: logger) else { return nil }
            try await connection.rows("DELETE FROM contact_tags WHERE contact_id = \(contactId) AND lower(tag) = lower(\(tag))", logger)
            return try await Self.loadContact(connection, id: contactId, logger: logger)
        }
    }
}
