import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Inbound: webhooks become messages (once across instances), statuses and watermarks move
/// messages forward. The decisions are Core's (`KeywordDecision`, `BotTurnPlan`, `StatusRules`).
extension PostgresStore {
    public func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?, policy: InboundPolicy) async throws -> IngestResult {
        let nowMillis = Timestamp.millis(now)
        let messageId = SortableID.make(prefix: SortableID.messagePrefix, now: now)
        let logger = logger
        return try await transaction { connection in
            // The primary key makes a retry that reaches the other instance wait for this commit,
            // then find the row.
            let claimed = try await connection.rows("""
                INSERT INTO processed_provider_ids (channel, provider_message_id, message_id, received_at)
                VALUES (\(inbound.channel.rawValue), \(inbound.providerMessageId), \(messageId), \(nowMillis))
                ON CONFLICT DO NOTHING RETURNING message_id
                """, logger)
            if claimed.isEmpty {
                let first = try await connection.rows("""
                    SELECT message_id FROM processed_provider_ids
                    WHERE channel = \(inbound.channel.rawValue) AND provider_message_id = \(inbound.providerMessageId)
                    """, logger).first?.value("message_id", as: String.self)
                return .duplicate(messageId: first ?? messageId)
            }
            let (contactId, created) = try await Self.findOrCreateContact(
                connection, channel: inbound.channel, address: inbound.senderAddress, now: nowMillis, logger: logger)
            var content = inbound.content
            if inbound.channel == .sms, !created, content.postback == nil,
               let choice = try await Self.numberedChoice(connection, contactId: contactId, text: content.text, logger: logger) {
                content.postback = choice
            }
            let message = Message(
                id: messageId, contactId: contactId, channel: inbound.channel, direction: .inbound,
                author: .init(kind: .contact), content: content, status: .received,
                providerMessageId: inbound.providerMessageId, createdAt: Timestamp.date(millis: nowMillis),
                updatedAt: Timestamp.date(millis: nowMillis))
            try await Self.insert(message, connection: connection, logger: logger)
            if !created {
                try await Self.touch(
                    connection, contactId: contactId, channel: inbound.channel, address: inbound.senderAddress, at: nowMillis, logger: logger)
            }
            try await Self.recordChannelFacts(connection, inbound: inbound, at: nowMillis, logger: logger)

            var replies: [Message] = []
            if inbound.channel == .sms, OptOutKeyword.classify(content.text) != nil {
                let subscribed = try await Self.isSubscribed(connection, contactId: contactId, channel: .sms, logger: logger)
                if case .handled(let setSubscribed, let text) = KeywordDecision.decide(
                    channel: inbound.channel, text: content.text, subscribed: subscribed, policy: policy) {
                    if let setSubscribed {
                        try await Self.setSubscription(
                            connection, contactId: contactId, channel: .sms, subscribed: setSubscribed, at: nowMillis, logger: logger)
                    }
                    if let text {
                        replies.append(try await Self.enqueue(
                            connection, contactId: contactId, channel: inbound.channel, recipient: inbound.senderAddress,
                            content: Content(text: text), author: .init(kind: .system), now: now, logger: logger))
                    }
                    return .stored(message: message, contact: nil, replies: replies)
                }
            }
            if policy.remoteBot {
                try await connection.rows("""
                    INSERT INTO bot_deliveries (message_id, contact_id, next_attempt_at)
                    SELECT \(message.id), id, \(nowMillis) FROM contacts WHERE id = \(contactId) AND bot_enabled
                    """, logger)
                return .stored(message: message, contact: nil, replies: replies)
            }
            guard let bot, let contact = try await Self.loadContact(connection, id: contactId, logger: logger), contact.botEnabled else {
                return .stored(message: message, contact: nil, replies: replies)
            }
            // The flow's position is the contact's row in bot_state: whichever instance the next
            // message reaches continues from it.
            let state = try await connection.rows("SELECT state FROM bot_state WHERE contact_id = \(contactId)", logger)
                .first?.value("state", as: String.self)
            let turn = bot.respond(to: BotInput(message: message, contact: contact, state: state))
            replies += try await Self.apply(
                BotTurnPlan(turn: turn, channel: inbound.channel, subscribed: contact.subscriptions[inbound.channel.rawValue] != false),
                contactId: contactId, channel: inbound.channel, recipient: inbound.senderAddress, connection: connection, now: now,
                logger: logger)
            if let newState = turn.state {
                try await connection.rows("""
                    INSERT INTO bot_state (contact_id, state, updated_at) VALUES (\(contactId), \(newState), \(nowMillis))
                    ON CONFLICT (contact_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                    """, logger)
            } else if state != nil {
                try await connection.rows("DELETE FROM bot_state WHERE contact_id = \(contactId)", logger)
            }
            let updated = turn.effects.isEmpty ? contact : try await Self.loadContact(connection, id: contactId, logger: logger)
            return .stored(message: message, contact: updated, replies: replies)
        }
    }

    /// A bot turn, as planned: its replies queued, its dropped replies counted, its effects stored.
    static func apply(
        _ plan: BotTurnPlan, contactId: String, channel: SwitchboardCore.Channel, recipient: String, connection: PostgresConnection, now: Date,
        logger: Logger
    ) async throws -> [Message] {
        if plan.droppedReplies > 0 {
            logger.info("bot replies dropped: contact unsubscribed", metadata: [
                "contact_id": "\(contactId)", "channel": "\(channel.rawValue)", "count": "\(plan.droppedReplies)",
            ])
            for _ in 0..<plan.droppedReplies { StoreMetrics.droppedBotReplies(reason: "unsubscribed") }
        }
        var replies: [Message] = []
        for content in plan.replies {
            replies.append(try await enqueue(
                connection, contactId: contactId, channel: channel, recipient: recipient, content: content,
                author: .init(kind: .bot), now: now, logger: logger))
        }
        try await apply(plan.effects, to: contactId, channel: channel, connection: connection, now: now, logger: logger)
        return replies
    }

    /// A bot's effects on its contact, in the ingest transaction.
    static func apply(
        _ effects: [BotEffect], to contactId: String, channel: SwitchboardCore.Channel, connection: PostgresConnection, now: Date, logger: Logger
    ) async throws {
        let nowMillis = Timestamp.millis(now)
        for effect in effects {
            switch effect {
            case .setAttribute(let name, let value):
                try await setAttribute(connection, contactId: contactId, name: name, value: value, at: nowMillis, logger: logger)
            case .removeAttribute(let name):
                try await setAttribute(connection, contactId: contactId, name: name, value: nil, at: nowMillis, logger: logger)
            case .addTag(let tag):
                try await assignTag(connection, contactId: contactId, tag: tag, at: nowMillis, logger: logger)
            case .removeTag(let tag):
                try await connection.rows(
                    "DELETE FROM contact_tags WHERE contact_id = \(contactId) AND lower(tag) = lower(\(tag))", logger)
            case .subscribe(let target):
                try await setSubscription(connection, contactId: contactId, channel: target, subscribed: true, at: nowMillis, logger: logger)
            case .unsubscribe(let target):
                try await setSubscription(connection, contactId: contactId, channel: target, subscribed: false, at: nowMillis, logger: logger)
            case .handoff(let reason):
                try await connection.rows("UPDATE contacts SET bot_enabled = false, updated_at = \(nowMillis) WHERE id = \(contactId)", logger)
                try await connection.rows("DELETE FROM bot_state WHERE contact_id = \(contactId)", logger)
                // A note in the trail for the agents; it is not sent to the contact (no outbox row).
                let stamp = Timestamp.date(millis: nowMillis)
                let note = Message(
                    id: SortableID.make(prefix: SortableID.messagePrefix, now: now), contactId: contactId, channel: channel,
                    direction: .outbound, author: .init(kind: .system),
                    content: Content(text: "Handed off to an agent" + (reason.map { ": \($0)" } ?? ".")), status: .sent,
                    createdAt: stamp, updatedAt: stamp)
                try await insert(note, connection: connection, logger: logger)
            }
        }
    }

    /// The quick reply that a bare number answers, from the latest outbound SMS to the contact.
    static func numberedChoice(
        _ connection: PostgresConnection, contactId: String, text: String?, logger: Logger
    ) async throws -> Content.Postback? {
        guard let text, Int(text.trimmingWhitespace()) != nil,
              let json = try await connection.rows("""
                SELECT content FROM messages WHERE contact_id = \(contactId) AND channel = 'sms' AND direction = 'outbound'
                ORDER BY id DESC LIMIT 1
                """, logger).first?.value("content", as: String.self)
        else { return nil }
        return NumberedChoice.postback(for: text, among: try decodeContent(json).quickReplies)
    }

    /// Messenger's 24-hour window and the proof of RCS capability, as on SQLite.
    static func recordChannelFacts(_ connection: PostgresConnection, inbound: InboundMessage, at now: Int64, logger: Logger) async throws {
        switch inbound.channel {
        case .messenger:
            let sent = min(inbound.sentAt.map(Timestamp.millis) ?? now, now)
            try await connection.rows("""
                UPDATE contact_channels SET page_id = COALESCE(\(inbound.recipientAddress), page_id),
                    window_open_until = GREATEST(COALESCE(window_open_until, 0), \(sent + 24 * 3_600_000))
                WHERE channel = 'messenger' AND address = \(inbound.senderAddress)
                """, logger)
        case .rcs:
            try await connection.rows("""
                INSERT INTO rcs_capabilities (phone, capable, features, checked_at, source) VALUES (\(inbound.senderAddress), true, '[]', \(now), 'inbound')
                ON CONFLICT (phone) DO UPDATE SET capable = true, checked_at = excluded.checked_at,
                    source = CASE WHEN rcs_capabilities.capable THEN rcs_capabilities.source ELSE 'inbound' END
                """, logger)
        case .sms, .webchat:
            break
        }
    }

    public func applyStatus(_ update: StatusUpdate, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            // The same lock as recordDelivery's: the send's answer and this report never pass each other.
            try await Self.lockProviderId(connection, update.providerMessageId, logger: logger)
            guard let row = try await connection.rows("""
                SELECT \(unescaped: Self.messageColumns) FROM messages
                WHERE channel = \(update.channel.rawValue) AND provider_message_id = \(update.providerMessageId) AND direction = 'outbound'
                FOR UPDATE
                """, logger).first,
                let stored = try Self.message(from: row)
            else {
                // Perhaps ours, with the send's answer not recorded yet: kept for recordDelivery.
                try await connection.rows(
                    "DELETE FROM early_statuses WHERE received_at < \(nowMillis - Int64(StatusRules.earlyStatusRetentionSeconds * 1000))",
                    logger)
                try await connection.rows("""
                    INSERT INTO early_statuses (channel, provider_message_id, status, error_code, error_message, received_at)
                    VALUES (\(update.channel.rawValue), \(update.providerMessageId), \(update.status.rawValue),
                            \(update.error?.code), \(update.error?.message), \(nowMillis))
                    ON CONFLICT DO NOTHING
                    """, logger)
                return nil
            }
            guard let message = StatusRules.applying(update, to: stored, at: Timestamp.date(millis: nowMillis)) else { return nil }
            try await connection.rows("""
                UPDATE messages SET status = \(message.status.rawValue), error_code = \(message.error?.code),
                    error_message = \(message.error?.message), updated_at = \(nowMillis)
                WHERE id = \(message.id)
                """, logger)
            return message
        }
    }

    public func applyWatermark(_ watermark: Watermark, at now: Date) async throws -> Int {
        let nowMillis = Timestamp.millis(now)
        let lower = StatusRules.statusesAdvanced(byWatermark: watermark.status).map(\.rawValue)
        let logger = logger
        return try await transaction { connection in
            guard let contactId = try await connection.rows("""
                SELECT contact_id FROM contact_channels WHERE channel = \(watermark.channel.rawValue) AND address = \(watermark.senderAddress)
                """, logger).first?.value("contact_id", as: String.self)
            else { return 0 }
            // Rows locked in id order, as every batch here, so two batches cannot deadlock.
            let moved = try await connection.rows("""
                UPDATE messages SET status = \(watermark.status.rawValue), updated_at = \(nowMillis)
                WHERE id IN (
                    SELECT id FROM messages
                    WHERE contact_id = \(contactId) AND channel = \(watermark.channel.rawValue) AND direction = 'outbound'
                      AND status = ANY(\(lower))
                      AND (created_at <= \(Timestamp.millis(watermark.upTo)) OR provider_message_id = ANY(\(watermark.providerMessageIds)))
                    ORDER BY id FOR UPDATE)
                RETURNING id
                """, logger)
            return moved.count
        }
    }
}
