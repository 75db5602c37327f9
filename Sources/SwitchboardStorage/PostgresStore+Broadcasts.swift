import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Broadcasts across instances: recipients written at creation; any instance fans out a batch,
/// the recipients it takes locked (SKIP LOCKED), so each gets one message.
extension PostgresStore {
    static let broadcastColumns = """
        id, status, target, channel, content, author_kind, author_name, recipients, pending, queued, sent, delivered, read, failed,
        cancelled, skipped_unsubscribed, skipped_outside_messaging_window, skipped_no_channel, created_at, updated_at, completed_at
        """

    public func createBroadcast(_ draft: BroadcastDraft, at now: Date) async throws -> Broadcast {
        let nowMillis = Timestamp.millis(now)
        let id = SortableID.make(prefix: Broadcast.idPrefix, now: now)
        let targetJSON = String(decoding: try JSONEncoder().encode(draft.target), as: UTF8.self)
        let contentJSON = try Self.encode(draft.content)
        let tags = draft.target.tags.map { $0.lowercased() }
        let ids = draft.target.contactIds
        let logger = logger
        return try await transaction { connection in
            let unknownTags = try await connection.rows("""
                SELECT t FROM unnest(\(draft.target.tags)::TEXT[]) t WHERE NOT EXISTS (SELECT 1 FROM tags WHERE lower(name) = lower(t))
                """, logger).map { try $0.value("t", as: String.self) }
            if !unknownTags.isEmpty { throw BroadcastStoreError.unknownTags(unknownTags) }
            let unknownContacts = try await connection.rows("""
                SELECT c FROM unnest(\(ids)::TEXT[]) c WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE id = c) LIMIT 20
                """, logger).map { try $0.value("c", as: String.self) }
            if !unknownContacts.isEmpty { throw BroadcastStoreError.unknownContacts(unknownContacts) }
            try await connection.rows("""
                INSERT INTO broadcasts (id, status, target, channel, content, author_kind, author_name, recipients, pending, created_at, updated_at)
                VALUES (\(id), 'running', \(targetJSON), \(draft.channel?.rawValue), \(contentJSON), \(draft.author.kind.rawValue),
                        \(draft.author.name), 0, 0, \(nowMillis), \(nowMillis))
                """, logger)
            try await connection.rows("""
                INSERT INTO broadcast_recipients (broadcast_id, contact_id)
                SELECT \(id), contact_id FROM contact_tags WHERE lower(tag) = ANY (\(tags)::TEXT[])
                UNION SELECT \(id), c FROM unnest(\(ids)::TEXT[]) c
                ON CONFLICT DO NOTHING
                """, logger)
            guard let counted = try await connection.rows("""
                UPDATE broadcasts SET recipients = n, pending = n
                FROM (SELECT COUNT(*) AS n FROM broadcast_recipients WHERE broadcast_id = \(id)) counted
                WHERE id = \(id) RETURNING n
                """, logger).first else { throw BroadcastRowError(description: "broadcast \(id) vanished") }
            guard try counted.value("n", as: Int64.self) > 0 else { throw BroadcastStoreError.noRecipients }
            guard let broadcast = try await Self.broadcast(connection, id: id, logger: logger) else {
                throw BroadcastRowError(description: "broadcast \(id) vanished")
            }
            return broadcast
        }
    }

    public func broadcast(id: String) async throws -> Broadcast? {
        let logger = logger
        return try await read { connection in try await Self.broadcast(connection, id: id, logger: logger) }
    }

    public func broadcasts(limit: Int, before: String?) async throws -> Page<Broadcast> {
        let limit = max(1, limit)
        let logger = logger
        return try await read { connection in
            let rows = try await connection.rows("""
                SELECT \(unescaped: Self.broadcastColumns) FROM broadcasts WHERE (\(before)::TEXT IS NULL OR id < \(before))
                ORDER BY id DESC LIMIT \(Int64(limit + 1))
                """, logger)
            let items = try rows.prefix(limit).map(Self.broadcast(from:))
            return Page(items: items, nextCursor: rows.count > limit ? items.last?.id : nil)
        }
    }

    public func runningBroadcastIds() async throws -> [String] {
        let logger = logger
        return try await read { connection in
            try await connection.rows("SELECT id FROM broadcasts WHERE status = 'running' AND pending > 0 ORDER BY id", logger)
                .map { try $0.value("id", as: String.self) }
        }
    }

    public func fanOutBroadcast(
        id: String, limit: Int, window: @escaping @Sendable (SwitchboardCore.Channel) -> Int,
        decide: @escaping @Sendable (BroadcastCandidate?) -> BroadcastDecision, at now: Date
    ) async throws -> BroadcastFanOut {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            // The broadcast's row first (as cancel takes it): fan-outs of one broadcast take turns,
            // so instances do not overfill its windows, and a cancel waits for a batch to commit.
            guard let row = try await connection.rows(
                "SELECT \(unescaped: Self.broadcastColumns) FROM broadcasts WHERE id = \(id) AND status = 'running' FOR UPDATE", logger
            ).first else { return BroadcastFanOut() }
            let broadcast = try Self.broadcast(from: row)
            var waiting: [SwitchboardCore.Channel: Int] = [:]
            for entry in try await connection.rows("""
                SELECT m.channel, COUNT(*) AS n FROM outbox o JOIN messages m ON m.id = o.message_id
                WHERE m.broadcast_id = \(id) GROUP BY m.channel
                """, logger) {
                if let channel = SwitchboardCore.Channel(rawValue: try entry.value("channel")) {
                    waiting[channel] = Int(try entry.value("n", as: Int64.self))
                }
            }
            let recipients = try await connection.rows("""
                SELECT contact_id FROM broadcast_recipients WHERE broadcast_id = \(id) AND state = 'pending'
                ORDER BY contact_id LIMIT \(Int64(max(0, limit))) FOR UPDATE SKIP LOCKED
                """, logger).map { try $0.value("contact_id", as: String.self) }
            let candidates = try await Self.broadcastCandidates(connection, contactIds: recipients, logger: logger)
            var result = BroadcastFanOut()
            var skipped: [BroadcastSkipReason: Int] = [:]
            var skippedContacts: [String] = [], skipReasons: [String] = []
            var queuedContacts: [String] = [], queuedMessages: [String] = []
            for contactId in recipients {
                switch decide(candidates[contactId]) {
                case .skip(let reason):
                    skipped[reason, default: 0] += 1
                    skippedContacts.append(contactId)
                    skipReasons.append(reason.rawValue)
                case .send(let channel, let address):
                    // That channel's window is full: the recipient waits; others go on.
                    if waiting[channel, default: 0] >= window(channel) {
                        result.blocked = true
                        continue
                    }
                    waiting[channel, default: 0] += 1
                    let message = try await Self.enqueue(
                        connection, contactId: contactId, channel: channel, recipient: address, content: broadcast.content,
                        author: broadcast.author, now: now, logger: logger)
                    queuedContacts.append(contactId)
                    queuedMessages.append(message.id)
                    result.queued.append(message)
                }
            }
            if !queuedMessages.isEmpty {
                try await connection.rows("UPDATE messages SET broadcast_id = \(id) WHERE id = ANY (\(queuedMessages)::TEXT[])", logger)
                try await connection.rows("""
                    UPDATE broadcast_recipients r SET state = 'queued', message_id = x.m
                    FROM unnest(\(queuedContacts)::TEXT[], \(queuedMessages)::TEXT[]) AS x(c, m)
                    WHERE r.broadcast_id = \(id) AND r.contact_id = x.c
                    """, logger)
            }
            if !skippedContacts.isEmpty {
                try await connection.rows("""
                    UPDATE broadcast_recipients r SET state = 'skipped', skip_reason = x.reason
                    FROM unnest(\(skippedContacts)::TEXT[], \(skipReasons)::TEXT[]) AS x(c, reason)
                    WHERE r.broadcast_id = \(id) AND r.contact_id = x.c
                    """, logger)
            }
            result.skipped = skippedContacts.count
            let done = Int64(queuedMessages.count + skippedContacts.count)
            let left = try await connection.rows("""
                UPDATE broadcasts SET pending = pending - \(done), queued = queued + \(Int64(queuedMessages.count)),
                    skipped_unsubscribed = skipped_unsubscribed + \(Int64(skipped[.unsubscribed] ?? 0)),
                    skipped_outside_messaging_window = skipped_outside_messaging_window + \(Int64(skipped[.outsideMessagingWindow] ?? 0)),
                    skipped_no_channel = skipped_no_channel + \(Int64(skipped[.noChannel] ?? 0)),
                    updated_at = \(nowMillis)
                WHERE id = \(id) RETURNING pending
                """, logger).first?.value("pending", as: Int64.self) ?? 0
            try await connection.rows("""
                UPDATE broadcasts SET status = 'completed', completed_at = \(nowMillis)
                WHERE id = \(id) AND status = 'running' AND pending = 0 AND queued = 0
                """, logger)
            result.remaining = Int(left)
            return result
        }
    }

    public func cancelBroadcast(id: String, at now: Date) async throws -> BroadcastCancelResult {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            guard let row = try await connection.rows(
                "SELECT \(unescaped: Self.broadcastColumns) FROM broadcasts WHERE id = \(id) FOR UPDATE", logger
            ).first else { return .notFound }
            let broadcast = try Self.broadcast(from: row)
            guard broadcast.status == .running else { return .finished(broadcast) }
            // First the status: the message updates below then cannot complete it.
            try await connection.rows("""
                UPDATE broadcasts SET status = 'cancelled', completed_at = \(nowMillis), updated_at = \(nowMillis) WHERE id = \(id)
                """, logger)
            let waiting = try await connection.rows("""
                UPDATE broadcast_recipients SET state = 'cancelled' WHERE broadcast_id = \(id) AND state = 'pending' RETURNING contact_id
                """, logger).count
            // Queued messages not in flight; an attempt in flight (or of unknown outcome) runs its course.
            // A row locked by an outbox claim is being sent: it is skipped, not waited for (the
            // claim's status change needs this broadcast's row, which this transaction holds).
            let unsent = try await connection.rows("""
                DELETE FROM outbox WHERE message_id IN (
                    SELECT o.message_id FROM outbox o JOIN messages m ON m.id = o.message_id
                    WHERE m.broadcast_id = \(id) AND o.attempt_started_at IS NULL AND o.outcome_unknown_since IS NULL
                    FOR UPDATE OF o SKIP LOCKED)
                RETURNING message_id
                """, logger).map { try $0.value("message_id", as: String.self) }
            if !unsent.isEmpty {
                try await connection.rows("""
                    UPDATE messages SET status = 'failed', error_code = 'broadcast_cancelled',
                        error_message = 'the broadcast was cancelled before this message was sent', updated_at = \(nowMillis)
                    WHERE id = ANY (\(unsent)::TEXT[])
                    """, logger)
            }
            try await connection.rows("""
                UPDATE broadcasts SET pending = pending - \(Int64(waiting)), failed = failed - \(Int64(unsent.count)),
                    cancelled = cancelled + \(Int64(waiting + unsent.count))
                WHERE id = \(id)
                """, logger)
            guard let cancelled = try await Self.broadcast(connection, id: id, logger: logger) else { return .notFound }
            return .cancelled(cancelled)
        }
    }

    static func broadcastCandidates(
        _ connection: PostgresConnection, contactIds: [String], logger: Logger
    ) async throws -> [String: BroadcastCandidate] {
        guard !contactIds.isEmpty else { return [:] }
        var candidates: [String: BroadcastCandidate] = [:]
        for row in try await connection.rows(
            "SELECT id, phone, last_channel FROM contacts WHERE id = ANY (\(contactIds)::TEXT[])", logger) {
            let id: String = try row.value("id")
            candidates[id] = BroadcastCandidate(
                contactId: id, phone: try row.value("phone", as: String?.self),
                lastChannel: try row.value("last_channel", as: String?.self).flatMap(SwitchboardCore.Channel.init(rawValue:)),
                addresses: [], unsubscribed: [])
        }
        for row in try await connection.rows("""
            SELECT contact_id, channel, address, window_open_until FROM contact_channels WHERE contact_id = ANY (\(contactIds)::TEXT[])
            ORDER BY contact_id, last_used_at DESC NULLS LAST
            """, logger) {
            let id: String = try row.value("contact_id")
            guard let channel = SwitchboardCore.Channel(rawValue: try row.value("channel")) else { continue }
            candidates[id]?.addresses.append(.init(
                channel: channel, address: try row.value("address"),
                windowOpenUntil: try row.value("window_open_until", as: Int64?.self).map(Timestamp.date(millis:))))
        }
        for row in try await connection.rows("""
            SELECT contact_id, channel FROM subscriptions WHERE contact_id = ANY (\(contactIds)::TEXT[]) AND NOT subscribed
            """, logger) {
            if let channel = SwitchboardCore.Channel(rawValue: try row.value("channel")) {
                candidates[try row.value("contact_id", as: String.self)]?.unsubscribed.insert(channel)
            }
        }
        return candidates
    }

    static func broadcast(_ connection: PostgresConnection, id: String, logger: Logger) async throws -> Broadcast? {
        try await connection.rows("SELECT \(unescaped: broadcastColumns) FROM broadcasts WHERE id = \(id)", logger)
            .first.map(broadcast(from:))
    }

    static func broadcast(from row: PostgresRandomAccessRow) throws -> Broadcast {
        let statusName: String = try row.value("status")
        let authorKind: String = try row.value("author_kind")
        guard let status = BroadcastStatus(rawValue: statusName), let kind = Message.Author.Kind(rawValue: authorKind) else {
            throw BroadcastRowError(description: "broadcasts holds an unknown status or author: \(statusName), \(authorKind)")
        }
        let target = try JSONDecoder().decode(BroadcastTarget.self, from: Data(try row.value("target", as: String.self).utf8))
        func count(_ column: String) throws -> Int { Int(clamping: try row.value(column, as: Int64.self)) }
        var counts = BroadcastCounts()
        counts.pending = try count("pending")
        counts.queued = try count("queued")
        counts.sent = try count("sent")
        counts.delivered = try count("delivered")
        counts.read = try count("read")
        counts.failed = try count("failed")
        counts.cancelled = try count("cancelled")
        counts.skipped = [
            .unsubscribed: try count("skipped_unsubscribed"),
            .outsideMessagingWindow: try count("skipped_outside_messaging_window"),
            .noChannel: try count("skipped_no_channel"),
        ]
        return Broadcast(
            id: try row.value("id"), status: status, target: target,
            channel: try row.value("channel", as: String?.self).flatMap(SwitchboardCore.Channel.init(rawValue:)),
            content: try decodeContent(try row.value("content")),
            author: Message.Author(kind: kind, name: try row.value("author_name", as: String?.self)),
            recipients: try count("recipients"), counts: counts,
            createdAt: Timestamp.date(millis: try row.value("created_at")), updatedAt: Timestamp.date(millis: try row.value("updated_at")),
            completedAt: try row.value("completed_at", as: Int64?.self).map(Timestamp.date(millis:)))
    }
}
