import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Inbound: webhooks become messages (once across instances), statuses and watermarks move
/// messages forward. The decisions are Core's (`KeywordDecision`, `BotTurnPlan`, `StatusRules`).
extension PostgresStore {
    public func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?, policy: InboundPolicy) async throws -> IngestResult {
        let nowMillis = Timestamp.millis(now)
        let record = InboundRecord(
            inbound: inbound, messageId: SortableID.make(prefix: SortableID.messagePrefix, now: now),
            newContactId: SortableID.make(prefix: SortableID.contactPrefix, now: now), now: nowMillis)
        let logger = logger
        let text = inbound.content.text
        // A bare number may answer the quick replies of the latest outbound SMS (NumberedChoice).
        let mayBeChoice = inbound.channel == .sms && inbound.content.postback == nil
            && text.map { Int($0.trimmingWhitespace()) != nil } == true
        let mayBeKeyword = inbound.channel == .sms && OptOutKeyword.classify(text) != nil
        let localBot = bot != nil && !policy.remoteBot

        // Most messages need no decision that reads the database: one statement, one round trip.
        if !mayBeChoice, !mayBeKeyword, !localBot {
            let stored = try await read { connection in
                try await Self.recordInbound(connection, record, remoteBot: policy.remoteBot, lastOutboundSMS: false, logger: logger)
            }
            if stored.duplicate { return .duplicate(messageId: stored.messageId) }
            return .stored(message: record.message(contactId: stored.contactId, content: inbound.content), contact: nil, replies: [])
        }

        return try await transaction { connection in
            // A local bot's turn needs the contact and its flow position: read in the same round trip.
            let stored = try await Self.recordInbound(
                connection, record, remoteBot: false, lastOutboundSMS: mayBeChoice, withContact: localBot, logger: logger)
            if stored.duplicate { return .duplicate(messageId: stored.messageId) }
            let contactId = stored.contactId
            var content = inbound.content
            if let text, let json = stored.lastOutboundSMS,
               let choice = NumberedChoice.postback(for: text, among: RichContentText.replyChoices(try Self.decodeContent(json))) {
                content.postback = choice
                try await connection.rows("UPDATE messages SET content = \(try Self.encode(content)) WHERE id = \(record.messageId)", logger)
            }
            let message = record.message(contactId: contactId, content: content)

            var replies: [Message] = []
            if mayBeKeyword {
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
            guard let bot, let contact = stored.contact, contact.botEnabled else {
                return .stored(message: message, contact: nil, replies: replies)
            }
            // The flow's position is the contact's row in bot_state: whichever instance the next
            // message reaches continues from it (read after this message's write locked the contact).
            let state = stored.botState
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

    public func applyReaction(_ update: ReactionUpdate, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        let reaction = update.reaction(now: Timestamp.date(millis: nowMillis))
        let logger = logger
        return try await transaction { connection -> Message? in
            guard let row = try await connection.rows("""
                SELECT \(unescaped: Self.qualifiedMessageColumns)
                FROM messages m JOIN contact_channels cc ON cc.contact_id = m.contact_id
                WHERE m.channel = \(update.channel.rawValue) AND m.provider_message_id = \(update.providerMessageId)
                    AND cc.channel = \(update.channel.rawValue) AND cc.address = \(update.senderAddress)
                FOR UPDATE OF m
                """, logger).first,
                var message = try Self.message(from: row)
            else { return nil }
            guard ReactionRules.replaces(message.reaction, with: reaction, reportedAt: update.at) else { return nil }
            message.reaction = reaction
            message.updatedAt = Timestamp.date(millis: nowMillis)
            try await connection.rows("""
                UPDATE messages SET reaction_emoji = \(reaction?.emoji), reaction_name = \(reaction?.name),
                    reaction_at = \(reaction.map { Timestamp.millis($0.at) }), updated_at = \(nowMillis)
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
