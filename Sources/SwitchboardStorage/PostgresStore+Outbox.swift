import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// The outbox across instances: claimed with `FOR UPDATE SKIP LOCKED` (each row by one instance),
/// leased until an expiry with a claim id (a crashed instance's rows are due again once the lease
/// ends; a stale worker's outcome is refused), paced per channel for the whole deployment.
extension PostgresStore {
    static func enqueue(
        _ connection: PostgresConnection, contactId: String, channel: SwitchboardCore.Channel, recipient: String, content: Content,
        author: Message.Author, now: Date, logger: Logger
    ) async throws -> Message {
        let nowMillis = Timestamp.millis(now)
        let stamp = Timestamp.date(millis: nowMillis)
        let message = Message(
            id: SortableID.make(prefix: SortableID.messagePrefix, now: now), contactId: contactId, channel: channel,
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
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        let (logger, pacing) = (logger, pacing)
        return try await transaction { connection in
            // The earliest due across the unpaced channels, `limit` in all; then each paced channel
            // up to the tokens its bucket (local, then the deployment's) grants.
            var batches: [(channels: [String], count: Int, paced: SwitchboardCore.Channel?)] = []
            let unpaced = SwitchboardCore.Channel.allCases.filter { channelLimits[$0] == nil }.map(\.rawValue)
            if limit > 0, !unpaced.isEmpty { batches.append((unpaced, limit, nil)) }
            for channel in SwitchboardCore.Channel.allCases {
                guard let channelLimit = channelLimits[channel], channelLimit > 0 else { continue }
                var granted = channelLimit
                if let pace = pacing[channel] {
                    granted = try await Self.takeSharedTokens(
                        connection, channel: channel, wanted: channelLimit, pace: pace, now: nowMillis, logger: logger)
                }
                if granted > 0 { batches.append(([channel.rawValue], granted, channel)) }
            }
            var claimed: [PostgresRandomAccessRow] = []
            for batch in batches {
                // SKIP LOCKED: rows another instance is claiming right now are left to it.
                let rows = try await connection.rows("""
                    WITH due AS (
                        SELECT message_id FROM outbox
                        WHERE channel = ANY(\(batch.channels)) AND next_attempt_at <= \(nowMillis)
                        ORDER BY next_attempt_at, message_id LIMIT \(batch.count)
                        FOR UPDATE SKIP LOCKED)
                    UPDATE outbox o SET next_attempt_at = \(leaseEnd), attempts = o.attempts + 1,
                        outcome_unknown_since = COALESCE(o.outcome_unknown_since, o.attempt_started_at),
                        attempt_started_at = \(nowMillis), claim_id = \(claimId)
                    FROM due WHERE o.message_id = due.message_id
                    RETURNING o.message_id, o.channel, o.recipient, o.attempts, o.outcome_unknown_since, o.next_attempt_at
                    """, logger)
                claimed += rows
                if let channel = batch.paced, let pace = pacing[channel], rows.count < batch.count {
                    try await Self.returnSharedTokens(connection, channel: channel, count: batch.count - rows.count, pace: pace, logger: logger)
                }
            }
            guard !claimed.isEmpty else { return [] }
            let ids = try claimed.map { try $0.value("message_id", as: String.self) }
            // Messages locked in id order (as every batch here), so concurrent batches cannot deadlock.
            try await connection.rows("""
                UPDATE messages SET status = 'sending', updated_at = \(nowMillis)
                WHERE id IN (SELECT id FROM messages WHERE id = ANY(\(ids)) AND status = 'queued' ORDER BY id FOR UPDATE)
                """, logger)
            var details: [String: PostgresRandomAccessRow] = [:]
            for row in try await connection.rows("""
                SELECT m.id, m.contact_id, m.content, m.author_kind, c.phone,
                       COALESCE((SELECT subscribed FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = o.channel), true) AS subscribed,
                       (SELECT window_open_until FROM contact_channels cc
                         WHERE cc.contact_id = m.contact_id AND cc.channel = 'messenger' AND cc.address = o.recipient) AS window_open_until
                FROM outbox o JOIN messages m ON m.id = o.message_id JOIN contacts c ON c.id = m.contact_id
                WHERE o.message_id = ANY(\(ids))
                """, logger) {
                details[try row.value("id")] = row
            }
            var items: [OutboxItem] = []
            for row in claimed {
                let messageId: String = try row.value("message_id")
                guard let channel = SwitchboardCore.Channel(rawValue: try row.value("channel", as: String.self)), let detail = details[messageId] else {
                    continue
                }
                let attempts: Int64 = try row.value("attempts")
                items.append(OutboxItem(
                    messageId: messageId, contactId: try detail.value("contact_id"), channel: channel,
                    recipient: try row.value("recipient"), content: try Self.decodeContent(try detail.value("content")),
                    previousAttempts: Int(clamping: attempts - 1),
                    author: Message.Author.Kind(rawValue: try detail.value("author_kind", as: String.self)) ?? .bot,
                    subscribed: try detail.value("subscribed"),
                    windowOpenUntil: try detail.value("window_open_until", as: Int64?.self).map(Timestamp.date(millis:)),
                    phone: try detail.value("phone", as: String?.self),
                    outcomeUnknownSince: try row.value("outcome_unknown_since", as: Int64?.self).map(Timestamp.date(millis:)),
                    claimId: claimId))
            }
            return items
        }
    }

    /// Takes up to `wanted` tokens from the channel's deployment-wide bucket (its row locked until
    /// the claim commits, so instances take turns) and returns how many it got.
    static func takeSharedTokens(
        _ connection: PostgresConnection, channel: SwitchboardCore.Channel, wanted: Int, pace: SharedPace, now: Int64, logger: Logger
    ) async throws -> Int {
        let burst = Double(max(1, pace.burst))
        try await connection.rows("""
            INSERT INTO channel_pacing (channel, tokens, refilled_at) VALUES (\(channel.rawValue), \(burst), \(now))
            ON CONFLICT DO NOTHING
            """, logger)
        guard let row = try await connection.rows(
            "SELECT tokens, refilled_at FROM channel_pacing WHERE channel = \(channel.rawValue) FOR UPDATE", logger).first
        else { return 0 }
        let tokens: Double = try row.value("tokens")
        let refilledAt: Int64 = try row.value("refilled_at")
        let elapsed = Double(max(0, now - refilledAt)) / 1000
        let available = min(burst, tokens + elapsed * pace.perSecond)
        let granted = max(0, min(wanted, Int(available.rounded(.down))))
        try await connection.rows("""
            UPDATE channel_pacing SET tokens = \(available - Double(granted)), refilled_at = \(max(now, refilledAt))
            WHERE channel = \(channel.rawValue)
            """, logger)
        return granted
    }

    /// Gives back tokens taken for rows that were not there.
    static func returnSharedTokens(
        _ connection: PostgresConnection, channel: SwitchboardCore.Channel, count: Int, pace: SharedPace, logger: Logger
    ) async throws {
        try await connection.rows("""
            UPDATE channel_pacing SET tokens = LEAST(\(Double(max(1, pace.burst))), tokens + \(Double(count)))
            WHERE channel = \(channel.rawValue)
            """, logger)
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
            let (outcome, message) = try await read { connection -> (String, Message?) in
                let answer = try await connection.rows(
                    "SELECT switchboard_record_sent(\(messageId), \(claimId), \(providerMessageId), \(nowMillis)) AS outcome", logger)
                let outcome = try answer.first?.value("outcome", as: String.self) ?? ""
                guard outcome == "recorded", returning else { return (outcome, nil) }
                return (outcome, try await Self.message(connection, id: messageId, logger: logger))
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
