import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Reads for the conversations view: contacts, trails, single messages.
extension PostgresStore {
    public func message(id: String) async throws -> Message? {
        let logger = logger
        return try await read { connection in try await Self.message(connection, id: id, logger: logger) }
    }

    public func contact(id: String) async throws -> Contact? {
        let logger = logger
        return try await read { connection in try await Self.loadContact(connection, id: id, logger: logger) }
    }

    public func contacts(limit: Int, cursor: String?) async throws -> Page<Contact> {
        try await contacts(ContactFilter(), limit: limit, cursor: cursor)
    }

    public func contacts(_ filter: ContactFilter, limit: Int, cursor: String?) async throws -> Page<Contact> {
        let limit = max(1, min(limit, 200))
        let after = try ContactCursor.parse(cursor)
        // Latest activity first, contacts without a message last; the cursor is the last row's
        // (activity, id), as on SQLite. The search is served by the trigram indexes (v11, v16).
        var sql = "SELECT id, COALESCE(last_message_at, -1) AS activity FROM contacts WHERE true"
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if let after {
            sql += " AND (COALESCE(last_message_at, -1), id) < (\(bind(after.activity)), \(bind(after.id)))"
        }
        if let query = filter.query?.trimmingWhitespace(), !query.isEmpty {
            let pattern = "%" + query.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            let p = bind(pattern)
            sql += " AND (name ILIKE \(p) OR phone ILIKE \(p) OR attribute_values ILIKE \(p))"
        }
        if let tag = filter.tag {
            sql += " AND EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = contacts.id AND lower(ct.tag) = lower(\(bind(tag))))"
        }
        if let channel = filter.channel {
            sql += " AND EXISTS (SELECT 1 FROM contact_channels cc WHERE cc.contact_id = contacts.id AND cc.channel = \(bind(channel.rawValue)))"
        }
        sql += " ORDER BY COALESCE(last_message_at, -1) DESC, id DESC LIMIT \(bind(limit + 1))"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let logger = logger
        return try await read { connection in
            let rows = try await connection.rows(query, logger)
            let pageRows = Array(rows.prefix(limit))
            let ids = try pageRows.map { try $0.value("id", as: String.self) }
            let contacts = try await Self.loadContacts(connection, ids: ids, logger: logger)
            var next: String?
            if rows.count > limit, let last = pageRows.last {
                next = ContactCursor(activity: try last.value("activity"), id: try last.value("id")).encoded
            }
            return Page(items: contacts, nextCursor: next)
        }
    }

    public func messages(contactId: String, limit: Int, before: String?) async throws -> Page<Message> {
        let page = try await newestMessages(column: "contact_id", equals: contactId, limit: limit, before: before)
        return Page(items: page.items.reversed(), nextCursor: page.nextCursor)
    }

    /// Messages whose `column` equals `value`, newest first, older than `before`, and the cursor for
    /// the next (older) page.
    func newestMessages(column: String, equals value: String, limit: Int, before: String?) async throws -> Page<Message> {
        let limit = max(1, min(limit, 200))
        let logger = logger
        return try await read { connection in
            let rows: [PostgresRandomAccessRow]
            if let before {
                rows = try await connection.rows("""
                    SELECT \(unescaped: Self.messageColumns) FROM messages WHERE \(unescaped: column) = \(value) AND id < \(before)
                    ORDER BY id DESC LIMIT \(limit + 1)
                    """, logger)
            } else {
                rows = try await connection.rows("""
                    SELECT \(unescaped: Self.messageColumns) FROM messages WHERE \(unescaped: column) = \(value)
                    ORDER BY id DESC LIMIT \(limit + 1)
                    """, logger)
            }
            let page = try rows.prefix(limit).compactMap { try Self.message(from: $0) }
            return Page(items: page, nextCursor: rows.count > limit ? page.last?.id : nil)
        }
    }

    public func messages(contactId: String, after: String, limit: Int) async throws -> [Message] {
        let limit = max(1, min(limit, 500))
        let logger = logger
        return try await read { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.messageColumns) FROM messages WHERE contact_id = \(contactId) AND id > \(after)
                ORDER BY id LIMIT \(limit)
                """, logger).compactMap { try Self.message(from: $0) }
        }
    }

    public func contactId(channel: SwitchboardCore.Channel, address: String) async throws -> String? {
        let logger = logger
        return try await read { connection in
            try await connection.rows(
                "SELECT contact_id FROM contact_channels WHERE channel = \(channel.rawValue) AND address = \(address)", logger
            ).first?.value("contact_id", as: String.self)
        }
    }

    public func messages(status: MessageStatus, limit: Int, before: String?) async throws -> Page<Message> {
        try await newestMessages(column: "status", equals: status.rawValue, limit: limit, before: before)
    }
}
