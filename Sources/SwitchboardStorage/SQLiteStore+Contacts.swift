import Foundation
import GRDB
import SwitchboardCore

/// Changes agents make to contacts through the API: the panel's fields, attributes, subscriptions, tags.
extension SQLiteStore {
    public func updateContact(id: String, patch: ContactPatch, at now: Date) async throws -> Contact? {
        let nowMillis = Timestamp.millis(now)
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [id]) != nil else { return nil }
            if let name = patch.name {
                try db.execute(sql: "UPDATE contacts SET name = ?, updated_at = ? WHERE id = ?", arguments: [name, nowMillis, id])
            }
            if let photo = patch.photoUrl {
                try db.execute(sql: "UPDATE contacts SET photo_url = ?, updated_at = ? WHERE id = ?", arguments: [photo, nowMillis, id])
            }
            if let enabled = patch.botEnabled {
                try db.execute(sql: "UPDATE contacts SET bot_enabled = ?, updated_at = ? WHERE id = ?", arguments: [enabled, nowMillis, id])
                // Turning the bot back on starts its flow afresh.
                if enabled { try db.execute(sql: "DELETE FROM bot_state WHERE contact_id = ?", arguments: [id]) }
            }
            return try Self.loadContact(db, id: id)
        }
    }

    public func setAttribute(contactId: String, name: String, value: String?, at now: Date) async throws -> Contact? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [contactId]) != nil else { return nil }
            try Self.setAttribute(db, contactId: contactId, name: name, value: value, at: Timestamp.millis(now))
            return try Self.loadContact(db, id: contactId)
        }
    }

    public func setSubscription(contactId: String, channel: Channel, subscribed: Bool, at now: Date) async throws -> Contact? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [contactId]) != nil else { return nil }
            try Self.setSubscription(db, contactId: contactId, channel: channel, subscribed: subscribed, at: Timestamp.millis(now))
            return try Self.loadContact(db, id: contactId)
        }
    }

    public func mergeContact(_ sourceId: String, into targetId: String, at now: Date) async throws -> Contact? {
        let nowMillis = Timestamp.millis(now)
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [targetId]) != nil,
                  try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [sourceId]) != nil
            else { return nil }
            let both: StatementArguments = [targetId, sourceId]
            try db.execute(sql: "UPDATE contact_channels SET contact_id = ? WHERE contact_id = ?", arguments: both)
            try db.execute(sql: "UPDATE messages SET contact_id = ? WHERE contact_id = ?", arguments: both)
            try db.execute(sql: "UPDATE bot_deliveries SET contact_id = ? WHERE contact_id = ?", arguments: both)
            try db.execute(sql: """
                INSERT INTO contact_tags (contact_id, tag) SELECT ?, tag FROM contact_tags WHERE contact_id = ? ON CONFLICT DO NOTHING
                """, arguments: both)
            // The target's own choices win; the source fills what the target lacks.
            try db.execute(sql: """
                INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at)
                SELECT ?, channel, subscribed, updated_at FROM subscriptions WHERE contact_id = ? ON CONFLICT DO NOTHING
                """, arguments: both)
            try db.execute(sql: """
                UPDATE contacts SET
                    attributes = json_patch((SELECT attributes FROM contacts WHERE id = :source), attributes),
                    name = COALESCE(name, (SELECT name FROM contacts WHERE id = :source)),
                    photo_url = COALESCE(photo_url, (SELECT photo_url FROM contacts WHERE id = :source)),
                    phone = COALESCE(phone, (SELECT phone FROM contacts WHERE id = :source)),
                    last_channel = CASE WHEN COALESCE((SELECT last_message_at FROM contacts WHERE id = :source), -1) > COALESCE(last_message_at, -1)
                        THEN (SELECT last_channel FROM contacts WHERE id = :source) ELSE last_channel END,
                    last_message_at = MAX(COALESCE(last_message_at, -1), COALESCE((SELECT last_message_at FROM contacts WHERE id = :source), -1)),
                    updated_at = :now
                WHERE id = :target
                """, arguments: ["source": sourceId, "target": targetId, "now": nowMillis])
            try db.execute(sql: "UPDATE contacts SET last_message_at = NULL WHERE id = ? AND last_message_at = -1", arguments: [targetId])
            try db.execute(sql: "DELETE FROM contacts WHERE id = ?", arguments: [sourceId])
            return try Self.loadContact(db, id: targetId)
        }
    }

    public func tags() async throws -> [TagCount] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT t.name, (SELECT COUNT(*) FROM contact_tags ct WHERE ct.tag = t.name) AS count
                FROM tags t ORDER BY t.name COLLATE NOCASE
                """).map { TagCount(name: try $0.decode(forColumn: "name"), contactCount: try $0.decode(forColumn: "count")) }
        }
    }

    public func createTag(_ name: String, at now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO tags (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [name, Timestamp.millis(now)])
            return db.changesCount > 0
        }
    }

    public func deleteTag(_ name: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM contact_tags WHERE tag = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM tags WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public func assignTag(contactId: String, tag: String, at now: Date) async throws -> Contact? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [contactId]) != nil else { return nil }
            try Self.assignTag(db, contactId: contactId, tag: tag, at: Timestamp.millis(now))
            return try Self.loadContact(db, id: contactId)
        }
    }

    public func unassignTag(contactId: String, tag: String) async throws -> Contact? {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM contacts WHERE id = ?", arguments: [contactId]) != nil else { return nil }
            try db.execute(sql: "DELETE FROM contact_tags WHERE contact_id = ? AND tag = ?", arguments: [contactId, tag])
            return try Self.loadContact(db, id: contactId)
        }
    }
}

/// `PATCH /api/v1/contacts/{id}`: a field left nil is unchanged; `.some(nil)` clears it.
public struct ContactPatch: Sendable, Equatable {
    public var name: String??
    public var photoUrl: String??
    public var botEnabled: Bool?

    public init(name: String?? = nil, photoUrl: String?? = nil, botEnabled: Bool? = nil) {
        self.name = name
        self.photoUrl = photoUrl
        self.botEnabled = botEnabled
    }
}

/// A tag of the catalogue and how many contacts carry it.
public struct TagCount: Codable, Sendable, Equatable {
    public var name: String
    public var contactCount: Int
}
