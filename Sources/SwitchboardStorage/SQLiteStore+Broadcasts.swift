import Foundation
import GRDB
import SwitchboardCore

/// Broadcasts on SQLite: recipients written at creation, fanned out in batches by the writer.
extension SQLiteStore {
    public func createBroadcast(_ draft: BroadcastDraft, at now: Date) async throws -> Broadcast {
        let nowMillis = Timestamp.millis(now)
        let id = SortableID.make(prefix: Broadcast.idPrefix, now: now)
        let targetJSON = String(decoding: try JSONEncoder().encode(draft.target), as: UTF8.self)
        let tagsJSON = String(decoding: try JSONEncoder().encode(draft.target.tags), as: UTF8.self)
        let idsJSON = String(decoding: try JSONEncoder().encode(draft.target.contactIds), as: UTF8.self)
        let contentJSON = try Self.encode(draft.content)
        return try await writer.write { db in
            let unknownTags = try String.fetchAll(db, sql: """
                SELECT value FROM json_each(?) WHERE value COLLATE NOCASE NOT IN (SELECT name FROM tags)
                """, arguments: [tagsJSON])
            if !unknownTags.isEmpty { throw BroadcastStoreError.unknownTags(unknownTags) }
            let unknownContacts = try String.fetchAll(db, sql: """
                SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM contacts) LIMIT 20
                """, arguments: [idsJSON])
            if !unknownContacts.isEmpty { throw BroadcastStoreError.unknownContacts(unknownContacts) }
            try db.execute(sql: """
                INSERT INTO broadcasts (id, status, target, channel, content, author_kind, author_name, recipients, pending, created_at, updated_at)
                VALUES (?, 'running', ?, ?, ?, ?, ?, 0, 0, ?, ?)
                """, arguments: [id, targetJSON, draft.channel?.rawValue, contentJSON, draft.author.kind.rawValue, draft.author.name, nowMillis, nowMillis])
            try db.execute(sql: """
                INSERT OR IGNORE INTO broadcast_recipients (broadcast_id, contact_id)
                SELECT ?, contact_id FROM contact_tags WHERE tag IN (SELECT value FROM json_each(?))
                """, arguments: [id, tagsJSON])
            try db.execute(sql: """
                INSERT OR IGNORE INTO broadcast_recipients (broadcast_id, contact_id) SELECT ?, value FROM json_each(?)
                """, arguments: [id, idsJSON])
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ?", arguments: [id]) ?? 0
            guard count > 0 else { throw BroadcastStoreError.noRecipients }
            try db.execute(sql: "UPDATE broadcasts SET recipients = ?, pending = ? WHERE id = ?", arguments: [count, count, id])
            guard let broadcast = try Self.broadcast(db, id: id) else { throw BroadcastRowError(description: "broadcast \(id) vanished") }
            return broadcast
        }
    }

    public func broadcast(id: String) async throws -> Broadcast? {
        try await pool.read { db in try Self.broadcast(db, id: id) }
    }

    public func broadcasts(limit: Int, before: String?) async throws -> Page<Broadcast> {
        let limit = max(1, limit)
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM broadcasts WHERE id < ? ORDER BY id DESC LIMIT ?", arguments: [before ?? "\u{10FFFF}", limit + 1])
            let items = try rows.prefix(limit).map(Self.broadcast(from:))
            return Page(items: items, nextCursor: rows.count > limit ? items.last?.id : nil)
        }
    }

    public func runningBroadcastIds() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM broadcasts WHERE status = 'running' AND pending > 0 ORDER BY id")
        }
    }

    public func fanOutBroadcast(
        id: String, limit: Int, window: @escaping @Sendable (Channel) -> Int,
        decide: @escaping @Sendable (BroadcastCandidate?) -> BroadcastDecision, at now: Date
    ) async throws -> BroadcastFanOut {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM broadcasts WHERE id = ? AND status = 'running'", arguments: [id]) else {
                return BroadcastFanOut()
            }
            let broadcast = try Self.broadcast(from: row)
            var waiting: [Channel: Int] = [:]
            for entry in try Row.fetchAll(db, sql: """
                SELECT m.channel AS channel, COUNT(*) AS n FROM outbox o JOIN messages m ON m.id = o.message_id
                WHERE m.broadcast_id = ? GROUP BY m.channel
                """, arguments: [id]) {
                if let channel = Channel(rawValue: try entry.decode(String.self, forColumn: "channel")) {
                    waiting[channel] = try entry.decode(Int.self, forColumn: "n")
                }
            }
            let recipients = try String.fetchAll(db, sql: """
                SELECT contact_id FROM broadcast_recipients WHERE broadcast_id = ? AND state = 'pending' ORDER BY contact_id LIMIT ?
                """, arguments: [id, max(0, limit)])
            var result = BroadcastFanOut()
            var skipped: [BroadcastSkipReason: Int] = [:]
            for contactId in recipients {
                switch decide(try Self.broadcastCandidate(db, contactId: contactId)) {
                case .skip(let reason):
                    skipped[reason, default: 0] += 1
                    try db.cachedStatement(sql: """
                        UPDATE broadcast_recipients SET state = 'skipped', skip_reason = ? WHERE broadcast_id = ? AND contact_id = ?
                        """).execute(arguments: [reason.rawValue, id, contactId])
                case .send(let channel, let address):
                    // That channel's window is full: the recipient waits; others go on.
                    if waiting[channel, default: 0] >= window(channel) {
                        result.blocked = true
                        continue
                    }
                    waiting[channel, default: 0] += 1
                    let message = try Self.enqueue(
                        db, contactId: contactId, channel: channel, recipient: address, content: broadcast.content, author: broadcast.author,
                        now: now)
                    try db.cachedStatement(sql: "UPDATE messages SET broadcast_id = ? WHERE id = ?").execute(arguments: [id, message.id])
                    try db.cachedStatement(sql: """
                        UPDATE broadcast_recipients SET state = 'queued', message_id = ? WHERE broadcast_id = ? AND contact_id = ?
                        """).execute(arguments: [message.id, id, contactId])
                    result.queued.append(message)
                }
            }
            result.skipped = skipped.values.reduce(0, +)
            let done = result.queued.count + result.skipped
            try db.execute(sql: """
                UPDATE broadcasts SET pending = pending - ?, queued = queued + ?, skipped_unsubscribed = skipped_unsubscribed + ?,
                    skipped_outside_messaging_window = skipped_outside_messaging_window + ?, skipped_no_channel = skipped_no_channel + ?,
                    updated_at = ?
                WHERE id = ?
                """, arguments: [
                    done, result.queued.count, skipped[.unsubscribed] ?? 0, skipped[.outsideMessagingWindow] ?? 0, skipped[.noChannel] ?? 0,
                    nowMillis, id,
                ])
            try db.execute(sql: """
                UPDATE broadcasts SET status = 'completed', completed_at = ? WHERE id = ? AND status = 'running' AND pending = 0 AND queued = 0
                """, arguments: [nowMillis, id])
            result.remaining = broadcast.counts.pending - done
            return result
        }
    }

    public func cancelBroadcast(id: String, at now: Date) async throws -> BroadcastCancelResult {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            guard let broadcast = try Self.broadcast(db, id: id) else { return .notFound }
            guard broadcast.status == .running else { return .finished(broadcast) }
            // First the status: the message updates below then cannot complete it.
            try db.execute(
                sql: "UPDATE broadcasts SET status = 'cancelled', completed_at = ?, updated_at = ? WHERE id = ?",
                arguments: [nowMillis, nowMillis, id])
            try db.execute(
                sql: "UPDATE broadcast_recipients SET state = 'cancelled' WHERE broadcast_id = ? AND state = 'pending'", arguments: [id])
            let waiting = db.changesCount
            // Queued messages not in flight (an attempt in flight, or one whose outcome is unknown, runs its course).
            let unsent = try String.fetchAll(db, sql: """
                SELECT o.message_id FROM outbox o JOIN messages m ON m.id = o.message_id
                WHERE m.broadcast_id = ? AND o.attempt_started_at IS NULL AND o.outcome_unknown_since IS NULL
                """, arguments: [id])
            for messageId in unsent {
                try db.execute(sql: "DELETE FROM outbox WHERE message_id = ?", arguments: [messageId])
                try db.execute(sql: """
                    UPDATE messages SET status = 'failed', error_code = 'broadcast_cancelled',
                        error_message = 'the broadcast was cancelled before this message was sent', updated_at = ?
                    WHERE id = ?
                    """, arguments: [nowMillis, messageId])
            }
            try db.execute(sql: """
                UPDATE broadcasts SET pending = pending - ?, failed = failed - ?, cancelled = cancelled + ? WHERE id = ?
                """, arguments: [waiting, unsent.count, waiting + unsent.count, id])
            guard let cancelled = try Self.broadcast(db, id: id) else { return .notFound }
            return .cancelled(cancelled)
        }
    }

    static func broadcastCandidate(_ db: Database, contactId: String) throws -> BroadcastCandidate? {
        guard let contact = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT phone, last_channel FROM contacts WHERE id = ?"), arguments: [contactId])
        else { return nil }
        var addresses: [BroadcastCandidate.Address] = []
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT channel, address, window_open_until FROM contact_channels WHERE contact_id = ?
            ORDER BY last_used_at IS NULL, last_used_at DESC
            """), arguments: [contactId]) {
            guard let channel = Channel(rawValue: try row.decode(String.self, forColumn: "channel")) else { continue }
            addresses.append(.init(
                channel: channel, address: try row.decode(forColumn: "address"),
                windowOpenUntil: (try row.decode(Int64?.self, forColumn: "window_open_until")).map(Timestamp.date(millis:))))
        }
        let unsubscribed = try String.fetchAll(
            db.cachedStatement(sql: "SELECT channel FROM subscriptions WHERE contact_id = ? AND subscribed = 0"), arguments: [contactId])
        return BroadcastCandidate(
            contactId: contactId, phone: try contact.decode(forColumn: "phone"),
            lastChannel: (try contact.decode(String?.self, forColumn: "last_channel")).flatMap(Channel.init(rawValue:)),
            addresses: addresses, unsubscribed: Set(unsubscribed.compactMap(Channel.init(rawValue:))))
    }

    static func broadcast(_ db: Database, id: String) throws -> Broadcast? {
        try Row.fetchOne(db, sql: "SELECT * FROM broadcasts WHERE id = ?", arguments: [id]).map(broadcast(from:))
    }

    static func broadcast(from row: Row) throws -> Broadcast {
        let statusName: String = try row.decode(forColumn: "status")
        let authorKind: String = try row.decode(forColumn: "author_kind")
        guard let status = BroadcastStatus(rawValue: statusName), let kind = Message.Author.Kind(rawValue: authorKind) else {
            throw BroadcastRowError(description: "broadcasts holds an unknown status or author: \(statusName), \(authorKind)")
        }
        let target = try JSONDecoder().decode(BroadcastTarget.self, from: Data((try row.decode(String.self, forColumn: "target")).utf8))
        var counts = BroadcastCounts()
        counts.pending = try row.decode(forColumn: "pending")
        counts.queued = try row.decode(forColumn: "queued")
        counts.sent = try row.decode(forColumn: "sent")
        counts.delivered = try row.decode(forColumn: "delivered")
        counts.read = try row.decode(forColumn: "read")
        counts.failed = try row.decode(forColumn: "failed")
        counts.cancelled = try row.decode(forColumn: "cancelled")
        counts.skipped = [
            .unsubscribed: try row.decode(forColumn: "skipped_unsubscribed"),
            .outsideMessagingWindow: try row.decode(forColumn: "skipped_outside_messaging_window"),
            .noChannel: try row.decode(forColumn: "skipped_no_channel"),
        ]
        return Broadcast(
            id: try row.decode(forColumn: "id"), status: status, target: target,
            channel: (try row.decode(String?.self, forColumn: "channel")).flatMap(Channel.init(rawValue:)),
            content: try decodeContent(try row.decode(forColumn: "content")),
            author: Message.Author(kind: kind, name: try row.decode(forColumn: "author_name")),
            recipients: try row.decode(forColumn: "recipients"), counts: counts,
            createdAt: Timestamp.date(millis: try row.decode(forColumn: "created_at")),
            updatedAt: Timestamp.date(millis: try row.decode(forColumn: "updated_at")),
            completedAt: (try row.decode(Int64?.self, forColumn: "completed_at")).map(Timestamp.date(millis:)))
    }
}

/// A stored broadcast that does not read back.
public struct BroadcastRowError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
