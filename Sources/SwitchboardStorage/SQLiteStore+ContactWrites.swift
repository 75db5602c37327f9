import Foundation
import GRDB
import Logging
import SwitchboardCore

/// Writes to a contact shared by ingest, bot effects and the API, inside their transactions.
extension SQLiteStore {
    static func setAttribute(_ db: Database, contactId: String, name: String, value: String?, at now: Int64) throws {
        if let value {
            try db.execute(
                sql: "UPDATE contacts SET attributes = json_set(attributes, '$.\"' || ? || '\"', ?), updated_at = ? WHERE id = ?",
                arguments: [name, value, now, contactId])
        } else {
            try db.execute(
                sql: "UPDATE contacts SET attributes = json_remove(attributes, '$.\"' || ? || '\"'), updated_at = ? WHERE id = ?",
                arguments: [name, now, contactId])
        }
    }

    static func assignTag(_ db: Database, contactId: String, tag: String, at now: Int64) throws {
        try db.execute(sql: "INSERT INTO tags (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [tag, now])
        let canonical = try String.fetchOne(db, sql: "SELECT name FROM tags WHERE name = ?", arguments: [tag]) ?? tag
        try db.execute(
            sql: "INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [contactId, canonical])
    }

    static func isSubscribed(_ db: Database, contactId: String, channel: Channel) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT subscribed FROM subscriptions WHERE contact_id = ? AND channel = ?"),
            arguments: [contactId, channel.rawValue]) ?? true
    }

    static func setSubscription(_ db: Database, contactId: String, channel: Channel, subscribed: Bool, at now: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (contact_id, channel) DO UPDATE SET subscribed = excluded.subscribed, updated_at = excluded.updated_at
            """).execute(arguments: [contactId, channel.rawValue, subscribed, now])
    }

    static func findOrCreateContact(_ db: Database, channel: Channel, address: String, now: Int64) throws -> (id: String, created: Bool) {
        let isPhone = channel == .sms || channel == .rcs
        // One statement for both lookups (every webhook runs it): the channel's own address
        // first, then, for SMS and RCS, the contact that has the phone, since SMS and RCS from
        // the same phone are one person.
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT contact_id, 1 FROM contact_channels WHERE channel = ? AND address = ?
                UNION ALL
                SELECT * FROM (SELECT id, 0 FROM contacts WHERE ? AND phone = ? ORDER BY id LIMIT 1)
                LIMIT 1
                """),
            arguments: [channel.rawValue, address, isPhone, address]) {
            let id: String = row[0]
            let linked: Bool = row[1]
            if linked { return (id, false) }
            try db.cachedStatement(sql: "INSERT INTO contact_channels (channel, address, contact_id) VALUES (?, ?, ?)")
                .execute(arguments: [channel.rawValue, address, id])
            return (id, false)
        }
        let id = SortableID.make(prefix: SortableID.contactPrefix, now: Timestamp.date(millis: now))
        try db.cachedStatement(sql: """
            INSERT INTO contacts (id, phone, bot_enabled, last_message_at, last_channel, created_at, updated_at)
            VALUES (?, ?, 1, ?, ?, ?, ?)
            """).execute(arguments: [id, isPhone ? address : nil, now, channel.rawValue, now, now])
        try db.cachedStatement(sql: "INSERT INTO contact_channels (channel, address, contact_id, last_used_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [channel.rawValue, address, id, now])
        return (id, true)
    }

    /// Marks the contact's latest activity (in or out) and the channel address it used.
    static func touch(_ db: Database, contactId: String, channel: Channel, address: String?, at now: Int64) throws {
        try db.cachedStatement(sql: """
            UPDATE contacts SET last_message_at = ?, last_channel = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [now, channel.rawValue, now, contactId])
        if let address {
            try db.cachedStatement(sql: "UPDATE contact_channels SET last_used_at = ? WHERE channel = ? AND address = ?")
                .execute(arguments: [now, channel.rawValue, address])
        }
    }
}
