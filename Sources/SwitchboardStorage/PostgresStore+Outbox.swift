import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// The outbox across instances: claimed with `FOR UPDATE SKIP LOCKED` (each row by one instance),
/// leased until an expiry with a claim id (a crashed instance's rows are due again once the lease
/// ends; a stale worker's outcome is refused), paced per channel for the whole deployment.
extension PostgresStore {
    static func enqueue(
        _ connection: PostgresConnection, id: String? = nil, contactId: String, channel: SwitchboardCore.Channel, recipient: String,
        content: Content, author: Message.Author, now: Date, logger: Logger
    ) async throws -> Message {
        let nowMillis = Timestamp.millis(now)
        let stamp = Timestamp.date(millis: nowMillis)
        let message = Message(
            id: id ?? SortableID.make(prefix: SortableID.messagePrefix, now: now), contactId: contactId, channel: channel,
            direction: .outbound, author: author, content: content, status: .queued, createdAt: stamp, updatedAt: stamp)
        // The message, its outbox row and the contact's activity in one statement (one round trip);
        // the outbox row's foreign key is checked at the statement's end, after the message's insert.
        try await connection.rows("""
            WITH stored AS (
                INSERT INTO messages (id, contact_id, channel, direction, author_kind, author_name, content, status,
                                      created_at, updated_at)
                VALUES (\(message.id), \(contactId), \(channel.rawValue), 'outbound', \(author.kind.rawValue), \(author.name),
                        \(try encode(content)), 'queued', \(nowMillis), \(nowMillis))),
            queued AS (
                INSERT INTO outbox (message_id, channel, recipient, attempts, next_attempt_at)
                VALUES (\(message.id), \(channel.rawValue), \(recipient), 0, \(nowMillis)))
            UPDATE contacts SET last_message_at = \(nowMillis), last_channel = \(channel.rawValue), updated_at = \(nowMillis)
            WHERE id = \(contactId)
            """, logger)
        return message
    }

    static func insert(_ message: Message, connection: PostgresConnection, logger: Logger) async throws {
        try await connection.rows("""
            INSERT INTO messages (id, contact_id, channel, direction, author_kind, author_name, content, status,
                                  provider_message_id, error_code, error_message, created_at, updated_at)
            VALUES (\(message.id), \(message.contactId), \(message.channel.rawValue), \(message.direction.rawValue),
                    \(message.author.kind.rawValue), \(message.author.name), \(try encode(message.content)), \(message.status.rawValue),
                    \(message.providerMessageId), \(message.error?.code), \(message.error?.message),
                    \(Timestamp.millis(message.createdAt)), \(Timestamp.millis(message.updatedAt)))
            """, logger)
    }

    public func claimDueOutbox(limit: Int, channelLimits: [SwitchboardCore.Channel: Int], now: Date, lease: Double) async throws -> [OutboxItem] {
        let nowMillis = Timestamp.millis(now)
        let claimId = UUID().uuidString
        let unpaced = SwitchboardCore.Channel.allCases.filter { channelLimits[$0] == nil }.map(\.rawValue)
        // Each channel with a limit on its own, paced ones within their deployment-wide bucket:
        // one call (migration v18), atomic on its own.
        let limited = SwitchboardCore.Channel.allCases.compactMap { channel in channelLimits[channel].map { (channel, $0) } }
        let paces = limited.map { pacing[$0.0] }
        let query: PostgresQuery = """
            SELECT * FROM switchboard_claim_outbox(
                \(nowMillis), \(nowMillis + Int64(lease * 1000)), \(claimId), \(unpaced), \(Int64(max(0, limit))),
                \(limited.map(\.0.rawValue)), \(limited.map { Int64($0.1) }), \(paces.map { $0 != nil }),
                \(paces.map { $0?.perSecond ?? 0 }), \(paces.map { Double(max(1, $0?.burst ?? 1)) }))
            """
        let logger = logger
        return try await read { connection in try Self.outboxItems(try await connection.rows(query, logger), claimId: claimId) }
    }

    /// `switchboard_claim_outbox`'s rows as outbox items, oldest message first.
    static func outboxItems(_ rows: [PostgresRandomAccessRow], claimId: String) throws -> [OutboxItem] {
        try rows.compactMap { row -> OutboxItem? in
            guard let channel = SwitchboardCore.Channel(rawValue: try row.value("channel", as: String.self)) else { return nil }
            let attempts: Int64 = try row.value("attempts")
            return OutboxItem(
                messageId: try row.value("message_id"), contactId: try row.value("contact_id"), channel: channel,
                recipient: try row.value("recipient"), content: try decodeContent(try row.value("content")),
                previousAttempts: Int(clamping: attempts - 1),
                author: Message.Author.Kind(rawValue: try row.value("author_kind", as: String.self)) ?? .bot,
                subscribed: try row.value("subscribed"),
                windowOpenUntil: try row.value("window_open_until", as: Int64?.self).map(Timestamp.date(millis:)),
                phone: try row.value("phone", as: String?.self),
                outcomeUnknownSince: try row.value("outcome_unknown_since", as: Int64?.self).map(Timestamp.date(millis:)),
                claimId: claimId)
        }
    }

    /// Serializes the recording of a provider message id with the reports about it, across instances.
    static func lockProviderId(_ connection: PostgresConnection, _ providerMessageId: String, logger: Logger) async throws {
        try await connection.rows("SELECT pg_advisory_xact_lock(hashtextextended(\("status:" + providerMessageId), 0))", logger)
    }

    /// Applies the status callbacks that came before the provider message id was recorded.
    static func applyEarlyStatuses(
        _ connection: PostgresConnection, messageId: String, providerMessageId: String, at nowMillis: Int64, logger: Logger
    ) async throws {
        let early = try await connection.rows("""
            SELECT e.status, e.error_code, e.error_message FROM early_statuses e JOIN messages m ON m.channel = e.channel
            WHERE m.id = \(messageId) AND e.provider_message_id = \(providerMessageId)
            """, logger)
        guard !early.isEmpty, var message = try await Self.message(connection, id: messageId, logger: logger) else { return }
        let reports = try early.compactMap { row -> StatusRules.Report? in
            guard let status = MessageStatus(rawValue: try row.value("status", as: String.self)) else { return nil }
            let code = try row.value("error_code", as: String?.self)
            let text = try row.value("error_message", as: String?.self)
            return StatusRules.Report(status: status, error: code.map { MessageError(code: $0, message: text ?? "") })
        }
        let outcome = StatusRules.applying(early: reports, to: message.status, error: message.error)
        message.status = outcome.status
        message.error = outcome.error
        try await connection.rows("""
            UPDATE messages SET status = \(message.status.rawValue), error_code = \(message.error?.code),
                error_message = \(message.error?.message), updated_at = \(nowMillis)
            WHERE id = \(messageId)
            """, logger)
        try await connection.rows("""
            DELETE FROM early_statuses WHERE channel = \(message.channel.rawValue) AND provider_message_id = \(providerMessageId)
            """, logger)
    }

    public func recordDelivery(
        messageId: String, claimId: String?, result: DeliveryResult, at now: Date, returning: Bool
    ) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        if case .sent(let providerMessageId) = result {
            // The common outcome in one round trip (migration v15), unless status reports came first.
            // The message as recorded comes back in the same round trip when asked for (v17).
            let (outcome, message) = try await read { connection -> (String, Message?) in
                guard let row = try await connection.rows("""
                    SELECT r.outcome, m.* FROM switchboard_record_sent(\(messageId), \(claimId), \(providerMessageId), \(nowMillis)) AS r(outcome)
                    LEFT JOIN LATERAL switchboard_message(CASE WHEN r.outcome = 'recorded' AND \(returning) THEN \(messageId) END) m ON true
                    """, logger).first
                else { return ("", nil) }
                let outcome = try row.value("outcome", as: String.self)
                guard outcome == "recorded", returning, try row.value("id", as: String?.self) != nil else { return (outcome, nil) }
                return (outcome, try Self.message(from: row))
            }
            switch outcome {
            case "lease_lost": throw StoreError.leaseLost(messageId: messageId)
            case "recorded": return message
            case "early": break // applied below, in one transaction with the recording
            default: throw PostgresStoreError.unexpectedAnswer("switchboard_record_sent answered \(outcome)")
            }
        }
        return try await transaction { connection in
            // The outbox row, locked: only the claim that holds it may record an outcome.
            if let claimId {
                let owner = try await connection.rows(
                    "SELECT claim_id FROM outbox WHERE message_id = \(messageId) FOR UPDATE", logger
                ).first?.value("claim_id", as: String?.self)
                guard owner == claimId else { throw StoreError.leaseLost(messageId: messageId) }
            }
            switch result {
            case .sent(let providerMessageId):
                // Taken by applyStatus too: a report for this id on another instance either commits
                // its early status before this reads them, or waits and then finds the message.
                try await Self.lockProviderId(connection, providerMessageId, logger: logger)
                try await connection.rows("""
                    UPDATE messages SET provider_message_id = COALESCE(provider_message_id, \(providerMessageId)),
                        status = CASE WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END, updated_at = \(nowMillis)
                    WHERE id = \(messageId)
                    """, logger)
                try await connection.rows("DELETE FROM outbox WHERE message_id = \(messageId)", logger)
                try await Self.applyEarlyStatuses(
                    connection, messageId: messageId, providerMessageId: providerMessageId, at: nowMillis, logger: logger)
            case .retry(let error, let notBefore):
                try await connection.rows("""
                    UPDATE outbox SET next_attempt_at = \(Timestamp.millis(notBefore)), last_error = \("\(error.code): \(error.message)"),
                        attempt_started_at = NULL
                    WHERE message_id = \(messageId)
                    """, logger)
            case .outcomeUnknown(let error, let notBefore, let startedAt):
                try await connection.rows("""
                    UPDATE outbox SET next_attempt_at = \(Timestamp.millis(notBefore)), last_error = \("\(error.code): \(error.message)"),
                        attempt_started_at = NULL, outcome_unknown_since = COALESCE(outcome_unknown_since, \(Timestamp.millis(startedAt)))
                    WHERE message_id = \(messageId)
                    """, logger)
            case .failed(let error, let unsubscribed):
                try await connection.rows("""
                    UPDATE messages SET status = 'failed', error_code = \(error.code), error_message = \(error.message), updated_at = \(nowMillis)
                    WHERE id = \(messageId) AND status IN ('queued', 'sending')
                    """, logger)
                if unsubscribed {
                    try await connection.rows("""
                        INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at)
                        SELECT contact_id, channel, false, \(nowMillis) FROM messages WHERE id = \(messageId)
                        ON CONFLICT (contact_id, channel) DO UPDATE SET subscribed = false, updated_at = excluded.updated_at
                        """, logger)
                }
                try await connection.rows("DELETE FROM outbox WHERE message_id = \(messageId)", logger)
            }
            guard returning else { return nil }
            return try await Self.message(connection, id: messageId, logger: logger)
        }
    }

    public func outboundMessageId(channel: SwitchboardCore.Channel, providerMessageId: String) async throws -> String? {
        let logger = logger
        return try await read { connection in
            try await connection.rows("""
                SELECT id FROM messages WHERE channel = \(channel.rawValue) AND provider_message_id = \(providerMessageId)
                  AND direction = 'outbound'
                """, logger).first?.value("id", as: String.self)
        }
    }

    public func nextOutboxDue() async throws -> Date? {
        let logger = logger
        return try await read { connection in
            try await connection.rows("SELECT MIN(next_attempt_at) AS due FROM outbox", logger)
                .first?.value("due", as: Int64?.self).map(Timestamp.date(millis:))
        }
    }

    public func enqueueOutbound(
        contactId: String, channel: SwitchboardCore.Channel, recipient: String, content: Content, author: Message.Author, at now: Date
    ) async throws -> Message {
        let logger = logger
        return try await transaction { connection in
            try await Self.enqueue(
                connection, contactId: contactId, channel: channel, recipient: recipient, content: content, author: author, now: now,
                logger: logger)
        }
    }

    public func reroute(
        messageId: String, claimId: String, to channel: SwitchboardCore.Channel, recipient: String, at now: Date
    ) async throws {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        try await transaction { connection in
            let owner = try await connection.rows(
                "SELECT claim_id FROM outbox WHERE message_id = \(messageId) FOR UPDATE", logger
            ).first?.value("claim_id", as: String?.self)
            guard owner == claimId else { throw StoreError.leaseLost(messageId: messageId) }
            try await connection.rows(
                "UPDATE messages SET channel = \(channel.rawValue), updated_at = \(nowMillis) WHERE id = \(messageId)", logger)
            try await connection.rows(
                "UPDATE outbox SET channel = \(channel.rawValue), recipient = \(recipient) WHERE message_id = \(messageId)", logger)
        }
    }
}
