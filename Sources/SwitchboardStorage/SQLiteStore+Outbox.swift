import Foundation
import GRDB
import Logging
import SwitchboardCore

/// The outbox: queueing, claiming with a lease, recording outcomes.
extension SQLiteStore {
    static func enqueue(
        _ db: Database, contactId: String, channel: Channel, recipient: String, content: Content,
        author: Message.Author, now: Date
    ) throws -> Message {
        let nowMillis = Timestamp.millis(now)
        let stamp = Timestamp.date(millis: nowMillis)
        let message = Message(
            id: SortableID.make(prefix: SortableID.messagePrefix, now: now), contactId: contactId, channel: channel,
            direction: .outbound, author: author, content: content, status: .queued, createdAt: stamp, updatedAt: stamp)
        try insert(message, contentJSON: try encode(content), db: db)
        try db.cachedStatement(sql: """
            INSERT INTO outbox (message_id, channel, recipient, attempts, next_attempt_at) VALUES (?, ?, ?, 0, ?)
            """).execute(arguments: [message.id, channel.rawValue, recipient, nowMillis])
        try touch(db, contactId: contactId, channel: channel, address: nil, at: nowMillis)
        return message
    }

    static func insert(_ message: Message, contentJSON: String, db: Database) throws {
        // Every webhook runs this: cached SQL rather than `MessageRow.insert`, which builds its
        // statement's text on each call (measured: ingest 10,000/s against 11,500/s).
        let row = MessageRow(message, contentJSON: contentJSON)
        try db.cachedStatement(sql: MessageRow.insertSQL).execute(arguments: row.insertArguments)
    }

    public func claimDueOutbox(limit: Int, channelLimits: [Channel: Int], now: Date, lease: Double) async throws -> [OutboxItem] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        return try await writer.write { db in
            let select = OutboxClaimRow.selection
            // One range scan of outbox_due_by_channel per channel: a query across channels that
            // excluded the paced ones would step over every waiting paced row on each claim.
            let byChannel = select + " WHERE o.channel = ? AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at LIMIT ?"
            var unpaced: [OutboxClaimRow] = []
            if limit > 0 {
                for channel in Channel.allCases where channelLimits[channel] == nil {
                    unpaced += try OutboxClaimRow.fetchAll(db.cachedStatement(sql: byChannel), arguments: [channel.rawValue, nowMillis, limit])
                }
            }
            // The earliest due first across the unpaced channels, `limit` in all.
            var rows = Array(unpaced.sorted { $0.nextAttemptAt < $1.nextAttemptAt }.prefix(limit))
            for (channel, channelLimit) in channelLimits.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where channelLimit > 0 {
                rows += try OutboxClaimRow.fetchAll(db.cachedStatement(sql: byChannel), arguments: [channel.rawValue, nowMillis, channelLimit])
            }
            var items: [OutboxItem] = []
            items.reserveCapacity(rows.count)
            // An attempt still marked started never recorded its outcome (the process died mid-send):
            // it may have reached the provider, so it counts as unknown from its start.
            let lease = try db.cachedStatement(sql: """
                UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1,
                    outcome_unknown_since = COALESCE(outcome_unknown_since, attempt_started_at), attempt_started_at = ?,
                    claim_id = ?
                WHERE message_id = ?
                """)
            let sending = try db.cachedStatement(sql: """
                UPDATE messages SET status = 'sending', updated_at = ? WHERE id = ? AND status = 'queued'
                """)
            for row in rows {
                guard let item = try row.item(claimId: claimId) else { continue }
                try lease.execute(arguments: [leaseEnd, nowMillis, claimId, row.messageId])
                try sending.execute(arguments: [nowMillis, row.messageId])
                items.append(item)
            }
            return items
        }
    }

    /// Applies the status callbacks that came before the provider message id was recorded, in
    /// the order of their statuses (a status never moves backwards), and forgets them.
    static func applyEarlyStatuses(_ db: Database, messageId: String, providerMessageId: String, at nowMillis: Int64) throws {
        // Usually there are none: look before reading the message.
        let early = try EarlyStatusRow.fetchAll(
            db.cachedStatement(sql: """
                SELECT e.* FROM early_statuses e JOIN messages m ON m.channel = e.channel
                WHERE m.id = ? AND e.provider_message_id = ?
                """),
            arguments: [messageId, providerMessageId])
        guard !early.isEmpty,
              var message = try MessageRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [messageId])?
                .message()
        else { return }
        let reports = early.compactMap(\.report)
        let outcome = StatusRules.applying(early: reports, to: message.status, error: message.error)
        message.status = outcome.status
        message.error = outcome.error
        try db.cachedStatement(sql: """
            UPDATE messages SET status = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [message.status.rawValue, message.error?.code, message.error?.message, nowMillis, messageId])
        try db.cachedStatement(sql: "DELETE FROM early_statuses WHERE channel = ? AND provider_message_id = ?")
            .execute(arguments: [message.channel.rawValue, providerMessageId])
    }

    public func recordDelivery(
        messageId: String, claimId: String?, result: DeliveryResult, at now: Date, returning: Bool
    ) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            if let claimId, try String.fetchOne(
                db.cachedStatement(sql: "SELECT claim_id FROM outbox WHERE message_id = ?"), arguments: [messageId]) != claimId {
                throw StoreError.leaseLost(messageId: messageId)
            }
            switch result {
            case .sent(let providerMessageId):
                // The id is kept even when a watermark already moved the message past `sent`.
                try db.cachedStatement(sql: """
                    UPDATE messages SET provider_message_id = COALESCE(provider_message_id, ?),
                        status = CASE WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END, updated_at = ?
                    WHERE id = ?
                    """).execute(arguments: [providerMessageId, nowMillis, messageId])
                try db.cachedStatement(sql: "DELETE FROM outbox WHERE message_id = ?").execute(arguments: [messageId])
                try Self.applyEarlyStatuses(db, messageId: messageId, providerMessageId: providerMessageId, at: nowMillis)
            case .retry(let error, let notBefore):
                // An earlier unknown outcome stays recorded: this attempt says nothing about it.
                try db.cachedStatement(sql: """
                    UPDATE outbox SET next_attempt_at = ?, last_error = ?, attempt_started_at = NULL WHERE message_id = ?
                    """).execute(arguments: [Timestamp.millis(notBefore), "\(error.code): \(error.message)", messageId])
            case .outcomeUnknown(let error, let notBefore, let startedAt):
                try db.cachedStatement(sql: """
                    UPDATE outbox SET next_attempt_at = ?, last_error = ?, attempt_started_at = NULL,
                        outcome_unknown_since = COALESCE(outcome_unknown_since, ?)
                    WHERE message_id = ?
                    """).execute(arguments: [
                        Timestamp.millis(notBefore), "\(error.code): \(error.message)", Timestamp.millis(startedAt), messageId,
                    ])
            case .failed(let error, let unsubscribed):
                try db.cachedStatement(sql: """
                    UPDATE messages SET status = 'failed', error_code = ?, error_message = ?, updated_at = ?
                    WHERE id = ? AND status IN ('queued', 'sending')
                    """).execute(arguments: [error.code, error.message, nowMillis, messageId])
                if unsubscribed {
                    try db.cachedStatement(sql: """
                        INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at)
                        SELECT contact_id, channel, 0, ? FROM messages WHERE id = ?
                        ON CONFLICT (contact_id, channel) DO UPDATE SET subscribed = 0, updated_at = excluded.updated_at
                        """).execute(arguments: [nowMillis, messageId])
                }
                try db.cachedStatement(sql: "DELETE FROM outbox WHERE message_id = ?").execute(arguments: [messageId])
            }
            guard returning else { return nil }
            return try MessageRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [messageId])?
                .message()
        }
    }

    public func outboundMessageId(channel: Channel, providerMessageId: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(
                db, sql: """
                    SELECT id FROM messages WHERE channel = ? AND provider_message_id = ? AND direction = 'outbound'
                    """, arguments: [channel.rawValue, providerMessageId])
        }
    }

    public func nextOutboxDue() async throws -> Date? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox").map(Timestamp.date(millis:))
        }
    }

    public func enqueueOutbound(
        contactId: String, channel: Channel, recipient: String, content: Content, author: Message.Author, at now: Date
    ) async throws -> Message {
        try await writer.write { db in
            try Self.enqueue(db, contactId: contactId, channel: channel, recipient: recipient, content: content, author: author, now: now)
        }
    }

    public func reroute(messageId: String, claimId: String, to channel: Channel, recipient: String, at now: Date) async throws {
        let nowMillis = Timestamp.millis(now)
        try await writer.write { db in
            guard try String.fetchOne(
                db.cachedStatement(sql: "SELECT claim_id FROM outbox WHERE message_id = ?"), arguments: [messageId]) == claimId
            else { throw StoreError.leaseLost(messageId: messageId) }
            try db.execute(
                sql: "UPDATE messages SET channel = ?, updated_at = ? WHERE id = ?", arguments: [channel.rawValue, nowMillis, messageId])
            try db.execute(
                sql: "UPDATE outbox SET channel = ?, recipient = ? WHERE message_id = ?", arguments: [channel.rawValue, recipient, messageId])
        }
    }
}
