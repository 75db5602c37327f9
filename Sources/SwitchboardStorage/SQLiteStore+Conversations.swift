import Foundation
import GRDB
import Logging
import SwitchboardCore

/// Reads for the conversations view: contacts, trails, single messages.
extension SQLiteStore {
    public func message(id: String) async throws -> Message? {
        try await pool.read { db in
            try MessageRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [id])?.message()
        }
    }

    public func contact(id: String) async throws -> Contact? {
        try await pool.read { db in try Self.loadContact(db, id: id) }
    }

    public func contacts(limit: Int, cursor: String?) async throws -> Page<Contact> {
        try await contacts(ContactFilter(), limit: limit, cursor: cursor)
    }

    public func contacts(_ filter: ContactFilter, limit: Int, cursor: String?) async throws -> Page<Contact> {
        let limit = max(1, min(limit, 200))
        let after = try ContactCursor.parse(cursor)
        let afterCursor = after
        return try await pool.read { db in
            // Latest activity first; contacts with no message yet come last. The cursor is the last
            // row's (activity, id), so pages stay stable while new messages arrive.
            var conditions: [String] = []
            var arguments: StatementArguments = []
            var walkActivity = false
            if let after = afterCursor {
                // The first term lets SQLite seek in contacts_by_recent_activity; the second is exact.
                conditions.append("COALESCE(last_message_at, -1) <= ? AND (COALESCE(last_message_at, -1), id) < (?, ?)")
                _ = arguments.append(contentsOf: [after.activity, after.activity, after.id])
            }
            if let query = filter.query?.trimmingWhitespace(), !query.isEmpty {
                let pattern = "%" + query.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%"
                // Contacts created or edited since the last indexing are read directly; the others
                // through the trigram index (v11, keyed by contact_search_ids since v13), whose
                // rows for them may be stale.
                let indexed: String
                if query.count >= 3 {
                    // The query as one FTS5 string: a substring match, without case.
                    // The matches are read once, here: their number chooses the plan (WalkOrSort),
                    // and the page's query takes them as one JSON array.
                    let match = "\"" + query.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                    let keys = try Int64.fetchAll(
                        db.cachedStatement(sql: "SELECT rowid FROM contact_search WHERE contact_search MATCH ?"), arguments: [match])
                    indexed = "SELECT value FROM json_each(?)"
                    _ = arguments.append(contentsOf: ["[" + keys.map(String.init).joined(separator: ",") + "]"])
                    walkActivity = try Self.walksActivity(db, matches: keys.count, limit: limit + 1)
                } else {
                    // Trigrams need three characters: shorter queries scan the index's text instead.
                    indexed = """
                        SELECT rowid FROM contact_search
                        WHERE (name LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\' OR attribute_values LIKE ? ESCAPE '\\')
                        """
                    _ = arguments.append(contentsOf: [pattern, pattern, pattern])
                }
                // One IN over a compound query, so SQLite drives from the matches; CROSS JOIN makes
                // it read the (few) pending rows first rather than scan every contact. Contacts
                // without attributes (most) skip json_each: 0.9 → 0.5 µs a pending row.
                conditions.append("""
                    id IN (
                        SELECT k.contact_id FROM contact_search_ids k WHERE k.key IN (\(indexed))
                            AND k.contact_id NOT IN (SELECT contact_id FROM contact_search_pending)
                        UNION ALL
                        SELECT c.id FROM contact_search_pending p CROSS JOIN contacts c ON c.id = p.contact_id
                        WHERE c.name LIKE ? ESCAPE '\\' OR c.phone LIKE ? ESCAPE '\\'
                           OR (c.attributes <> '{}' AND (SELECT group_concat(value, ' ') FROM json_each(c.attributes)) LIKE ? ESCAPE '\\'))
                    """)
                _ = arguments.append(contentsOf: [pattern, pattern, pattern])
            }
            if let tag = filter.tag {
                conditions.append("EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = contacts.id AND ct.tag = ?)")
                _ = arguments.append(contentsOf: [tag])
            }
            if let channel = filter.channel {
                conditions.append("EXISTS (SELECT 1 FROM contact_channels cc WHERE cc.contact_id = contacts.id AND cc.channel = ?)")
                _ = arguments.append(contentsOf: [channel.rawValue])
            }
            var sql = "SELECT id, COALESCE(last_message_at, -1) AS activity FROM contacts"
            if walkActivity { sql += " INDEXED BY contacts_by_recent_activity" }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY COALESCE(last_message_at, -1) DESC, id DESC LIMIT ?"
            _ = arguments.append(contentsOf: [limit + 1])
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let pageRows = rows.prefix(limit)
            let contacts = try Self.loadContacts(db, ids: pageRows.map { try $0.decode(String.self, forColumn: "id") })
            let next = try rows.count > limit
                ? pageRows.last.map { ContactCursor(activity: try $0.decode(forColumn: "activity"), id: try $0.decode(forColumn: "id")).encoded }
                : nil
            return Page(items: contacts, nextCursor: next)
        }
    }

    /// Whether a search should walk the contacts in activity order, testing each against the
    /// matches, rather than read every match and sort them. Many matches (a common name: 2,000 of
    /// 100,000) are found sooner by the walk, which stops after `limit` (about limit × contacts ÷
    /// matches rows, 1 µs each, against 2.5 µs per match read: 2.5 ms against 5 ms); few matches
    /// (a phone) would make it walk every contact.
    static func walksActivity(_ db: Database, matches: Int, limit: Int) throws -> Bool {
        // Keys are never reused: the largest is about the number of contacts ever indexed.
        let contacts = try Int.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(max(key), 0) FROM contact_search_ids")) ?? 0
        return WalkOrSort.walks(matches: matches, limit: limit, contacts: contacts)
    }

    public func messages(contactId: String, limit: Int, before: String?) async throws -> Page<Message> {
        try await pool.read { db in
            let page = try Self.newestMessages(db, where: "contact_id = ?", contactId, limit: limit, before: before)
            // Oldest first within the page; the cursor asks for what came before the page's oldest.
            return Page(items: page.items.reversed(), nextCursor: page.nextCursor)
        }
    }

    /// Messages matching `condition` (with one `?`), newest first, older than `before`, and the
    /// cursor for the next (older) page.
    static func newestMessages(
        _ db: Database, where condition: String, _ argument: some DatabaseValueConvertible, limit: Int, before: String?
    ) throws -> Page<Message> {
        let limit = max(1, min(limit, 200))
        var sql = "SELECT * FROM messages WHERE \(condition)"
        var arguments: StatementArguments = [argument]
        if let before {
            sql += " AND id < ?"
            _ = arguments.append(contentsOf: [before])
        }
        sql += " ORDER BY id DESC LIMIT ?"
        _ = arguments.append(contentsOf: [limit + 1])
        let rows = try MessageRow.fetchAll(db, sql: sql, arguments: arguments)
        let page = try rows.prefix(limit).compactMap { try $0.message() }
        return Page(items: page, nextCursor: rows.count > limit ? page.last?.id : nil)
    }

    public func messages(contactId: String, after: String, limit: Int) async throws -> [Message] {
        let limit = max(1, min(limit, 500))
        return try await pool.read { db in
            try MessageRow.fetchAll(
                db, sql: "SELECT * FROM messages WHERE contact_id = ? AND id > ? ORDER BY id LIMIT ?",
                arguments: [contactId, after, limit]
            ).compactMap { try $0.message() }
        }
    }

    public func contactId(channel: Channel, address: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(
                db, sql: "SELECT contact_id FROM contact_channels WHERE channel = ? AND address = ?",
                arguments: [channel.rawValue, address])
        }
    }

    public func messages(status: MessageStatus, limit: Int, before: String?) async throws -> Page<Message> {
        try await pool.read { db in
            try Self.newestMessages(db, where: "status = ?", status.rawValue, limit: limit, before: before)
        }
    }
}
