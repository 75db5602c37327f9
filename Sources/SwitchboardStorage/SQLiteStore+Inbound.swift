import Foundation
import GRDB
import Logging
import SwitchboardCore

/// Inbound: webhooks become messages (de-duplicated), statuses and watermarks move messages forward.
extension SQLiteStore {
    public func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?, policy: InboundPolicy) async throws -> IngestResult {
        let nowMillis = Timestamp.millis(now)
        let messageId = SortableID.make(prefix: SortableID.messagePrefix, now: now)
        let logger = self.logger
        // Encoded before the shared transaction: the writer is the one serial step of ingest, so
        // what can run beside it does.
        let receivedJSON = try Self.encode(inbound.content)
        return try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO processed_provider_ids (channel, provider_message_id, message_id, received_at)
                VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
                """).execute(arguments: [inbound.channel.rawValue, inbound.providerMessageId, messageId, nowMillis])
            if db.changesCount == 0 {
                let first = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT message_id FROM processed_provider_ids WHERE channel = ? AND provider_message_id = ?"),
                    arguments: [inbound.channel.rawValue, inbound.providerMessageId])
                return .duplicate(messageId: first ?? messageId)
            }
            let (contactId, created) = try Self.findOrCreateContact(
                db, channel: inbound.channel, address: inbound.senderAddress, now: nowMillis)
            var content = inbound.content
            var contentJSON = receivedJSON
            if inbound.channel == .sms, !created, content.postback == nil, let choice = try Self.numberedChoice(db, contactId: contactId, text: content.text) {
                content.postback = choice
                contentJSON = try Self.encode(content)
            }
            let message = Message(
                id: messageId, contactId: contactId, channel: inbound.channel, direction: .inbound,
                author: .init(kind: .contact), content: content, status: .received,
                providerMessageId: inbound.providerMessageId, createdAt: Timestamp.date(millis: nowMillis),
                updatedAt: Timestamp.date(millis: nowMillis))
            try Self.insert(message, contentJSON: contentJSON, db: db)
            if !created {
                try Self.touch(db, contactId: contactId, channel: inbound.channel, address: inbound.senderAddress, at: nowMillis)
            }
            try Self.recordChannelFacts(db, inbound: inbound, at: nowMillis)

            var replies: [Message] = []
            func reply(_ content: Content, author: Message.Author.Kind) throws {
                replies.append(try Self.enqueue(
                    db, contactId: contactId, channel: inbound.channel, recipient: inbound.senderAddress,
                    content: content, author: .init(kind: author), now: now))
            }
            if inbound.channel == .sms, OptOutKeyword.classify(content.text) != nil {
                let subscribed = try Self.isSubscribed(db, contactId: contactId, channel: .sms)
                if case .handled(let setSubscribed, let text) = KeywordDecision.decide(
                    channel: inbound.channel, text: content.text, subscribed: subscribed, policy: policy) {
                    if let setSubscribed {
                        try Self.setSubscription(db, contactId: contactId, channel: .sms, subscribed: setSubscribed, at: nowMillis)
                    }
                    if let text { try reply(Content(text: text), author: .system) }
                    return .stored(message: message, contact: nil, replies: replies)
                }
            }
            if policy.remoteBot {
                try db.cachedStatement(sql: """
                    INSERT INTO bot_deliveries (message_id, contact_id, next_attempt_at)
                    SELECT ?, id, ? FROM contacts WHERE id = ? AND bot_enabled = 1
                    """).execute(arguments: [message.id, nowMillis, contactId])
                return .stored(message: message, contact: nil, replies: replies)
            }
            // The contact is read only for a bot; storing alone stays a handful of statements.
            guard let bot, let contact = try Self.loadContact(db, id: contactId), contact.botEnabled else {
                return .stored(message: message, contact: nil, replies: replies)
            }
            let state = try String.fetchOne(
                db.cachedStatement(sql: "SELECT state FROM bot_state WHERE contact_id = ?"), arguments: [contactId])
            let turn = bot.respond(to: BotInput(message: message, contact: contact, state: state))
            replies += try Self.apply(
                BotTurnPlan(turn: turn, channel: inbound.channel, subscribed: contact.subscriptions[inbound.channel.rawValue] != false),
                contactId: contactId, channel: inbound.channel, recipient: inbound.senderAddress, db: db, now: now, logger: logger)
            if let newState = turn.state {
                try db.cachedStatement(sql: """
                    INSERT INTO bot_state (contact_id, state, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (contact_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                    """).execute(arguments: [contactId, newState, nowMillis])
            } else if state != nil {
                try db.cachedStatement(sql: "DELETE FROM bot_state WHERE contact_id = ?").execute(arguments: [contactId])
            }
            let updated = turn.effects.isEmpty ? contact : try Self.loadContact(db, id: contactId)
            return .stored(message: message, contact: updated, replies: replies)
        }
    }

    /// A bot turn, as planned: its replies queued, its dropped replies counted, its effects stored.
    static func apply(
        _ plan: BotTurnPlan, contactId: String, channel: Channel, recipient: String, db: Database, now: Date, logger: Logger
    ) throws -> [Message] {
        if plan.droppedReplies > 0 {
            logger.info("bot replies dropped: contact unsubscribed", metadata: [
                "contact_id": "\(contactId)", "channel": "\(channel.rawValue)", "count": "\(plan.droppedReplies)",
            ])
            for _ in 0..<plan.droppedReplies { StoreMetrics.droppedBotReplies(reason: "unsubscribed") }
        }
        let replies = try plan.replies.map { content in
            try enqueue(db, contactId: contactId, channel: channel, recipient: recipient, content: content, author: .init(kind: .bot), now: now)
        }
        try apply(plan.effects, to: contactId, channel: channel, db: db, now: now)
        return replies
    }

    /// A bot's effects on its contact, in the ingest transaction.
    static func apply(_ effects: [BotEffect], to contactId: String, channel: Channel, db: Database, now: Date) throws {
        let nowMillis = Timestamp.millis(now)
        for effect in effects {
            switch effect {
            case .setAttribute(let name, let value):
                try setAttribute(db, contactId: contactId, name: name, value: value, at: nowMillis)
            case .removeAttribute(let name):
                try setAttribute(db, contactId: contactId, name: name, value: nil, at: nowMillis)
            case .addTag(let tag):
                try assignTag(db, contactId: contactId, tag: tag, at: nowMillis)
            case .removeTag(let tag):
                try db.execute(sql: "DELETE FROM contact_tags WHERE contact_id = ? AND tag = ?", arguments: [contactId, tag])
            case .subscribe(let target):
                try setSubscription(db, contactId: contactId, channel: target, subscribed: true, at: nowMillis)
            case .unsubscribe(let target):
                try setSubscription(db, contactId: contactId, channel: target, subscribed: false, at: nowMillis)
            case .handoff(let reason):
                try db.execute(sql: "UPDATE contacts SET bot_enabled = 0, updated_at = ? WHERE id = ?", arguments: [nowMillis, contactId])
                try db.execute(sql: "DELETE FROM bot_state WHERE contact_id = ?", arguments: [contactId])
                // A note in the trail for the agents; it is not sent to the contact (no outbox row).
                let stamp = Timestamp.date(millis: nowMillis)
                let note = Message(
                    id: SortableID.make(prefix: SortableID.messagePrefix, now: now), contactId: contactId, channel: channel,
                    direction: .outbound, author: .init(kind: .system),
                    content: Content(text: "Handed off to an agent" + (reason.map { ": \($0)" } ?? ".")), status: .sent,
                    createdAt: stamp, updatedAt: stamp)
                try insert(note, contentJSON: try encode(note.content), db: db)
            }
        }
    }

    /// The quick reply that a bare number answers, from the latest outbound SMS to the contact.
    static func numberedChoice(_ db: Database, contactId: String, text: String?) throws -> Content.Postback? {
        guard let text, Int(text.trimmingWhitespace()) != nil,
              let json = try String.fetchOne(
                db.cachedStatement(sql: """
                    SELECT content FROM messages WHERE contact_id = ? AND channel = 'sms' AND direction = 'outbound'
                    ORDER BY id DESC LIMIT 1
                    """),
                arguments: [contactId])
        else { return nil }
        return NumberedChoice.postback(for: text, among: RichContentText.replyChoices(try decodeContent(json)))
    }

    /// Messenger's 24-hour window is measured from the contact's latest message
    /// (https://developers.facebook.com/docs/messenger-platform/policy/); an RCS message proves the
    /// phone is RCS capable.
    static func recordChannelFacts(_ db: Database, inbound: InboundMessage, at now: Int64) throws {
        switch inbound.channel {
        case .messenger:
            // A provider time in the future (a wrong clock, or a forged event) must not hold the
            // window open longer than 24 hours from now.
            let sent = min(inbound.sentAt.map(Timestamp.millis) ?? now, now)
            try db.cachedStatement(sql: """
                UPDATE contact_channels SET page_id = COALESCE(?, page_id), window_open_until = MAX(COALESCE(window_open_until, 0), ?)
                WHERE channel = 'messenger' AND address = ?
                """).execute(arguments: [inbound.recipientAddress, sent + 24 * 3_600_000, inbound.senderAddress])
        case .rcs:
            try db.cachedStatement(sql: """
                INSERT INTO rcs_capabilities (phone, capable, features, checked_at, source) VALUES (?, 1, '[]', ?, 'inbound')
                ON CONFLICT (phone) DO UPDATE SET capable = 1, checked_at = excluded.checked_at,
                    source = CASE WHEN rcs_capabilities.capable = 1 THEN rcs_capabilities.source ELSE 'inbound' END
                """).execute(arguments: [inbound.senderAddress, now])
        case .sms, .webchat:
            break
        }
    }

    public func applyStatus(_ update: StatusUpdate, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            guard let row = try MessageRow.fetchOne(
                db.cachedStatement(sql: """
                    SELECT * FROM messages WHERE channel = ? AND provider_message_id = ? AND direction = 'outbound'
                    """),
                arguments: [update.channel.rawValue, update.providerMessageId]),
                let stored = try row.message()
            else {
                // Perhaps ours, with the send's answer not recorded yet: keep it for recordDelivery
                // (a day at most; a provider id that never turns up is someone else's).
                try db.cachedStatement(sql: "DELETE FROM early_statuses WHERE received_at < ?")
                    .execute(arguments: [nowMillis - Int64(StatusRules.earlyStatusRetentionSeconds * 1000)])
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO early_statuses (channel, provider_message_id, status, error_code, error_message, received_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                        update.channel.rawValue, update.providerMessageId, update.status.rawValue,
                        update.error?.code, update.error?.message, nowMillis,
                    ])
                return nil
            }
            guard let message = StatusRules.applying(update, to: stored, at: Timestamp.date(millis: nowMillis)) else { return nil }
            try db.cachedStatement(sql: """
                UPDATE messages SET status = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?
                """).execute(arguments: [
                    message.status.rawValue, message.error?.code, message.error?.message, nowMillis, message.id,
                ])
            return message
        }
    }

    public func applyReaction(_ update: ReactionUpdate, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        let reaction = update.reaction(now: Timestamp.date(millis: nowMillis))
        return try await writer.write { db -> Message? in
            guard let row = try MessageRow.fetchOne(
                db.cachedStatement(sql: """
                    SELECT m.* FROM messages m JOIN contact_channels cc ON cc.contact_id = m.contact_id
                    WHERE m.channel = ? AND m.provider_message_id = ? AND cc.channel = ? AND cc.address = ?
                    """),
                arguments: [update.channel.rawValue, update.providerMessageId, update.channel.rawValue, update.senderAddress]),
                var message = try row.message()
            else { return nil }
            guard ReactionRules.replaces(message.reaction, with: reaction, reportedAt: update.at) else { return nil }
            message.reaction = reaction
            message.updatedAt = Timestamp.date(millis: nowMillis)
            try db.cachedStatement(sql: """
                UPDATE messages SET reaction_emoji = ?, reaction_name = ?, reaction_at = ?, updated_at = ? WHERE id = ?
                """).execute(arguments: [
                    reaction?.emoji, reaction?.name, reaction.map { Timestamp.millis($0.at) }, nowMillis, message.id,
                ])
            return message
        }
    }

    public func applyWatermark(_ watermark: Watermark, at now: Date) async throws -> Int {
        let nowMillis = Timestamp.millis(now)
        let lower = StatusRules.statusesAdvanced(byWatermark: watermark.status).map(\.rawValue)
        return try await writer.write { db in
            guard let contactId = try String.fetchOne(
                db.cachedStatement(sql: "SELECT contact_id FROM contact_channels WHERE channel = ? AND address = ?"),
                arguments: [watermark.channel.rawValue, watermark.senderAddress])
            else { return 0 }
            let placeholders = lower.map { _ in "?" }.joined(separator: ", ")
            var arguments: StatementArguments = [watermark.status.rawValue, nowMillis, contactId, watermark.channel.rawValue]
            _ = arguments.append(contentsOf: StatementArguments(lower))
            var condition = "created_at <= ?"
            _ = arguments.append(contentsOf: [Timestamp.millis(watermark.upTo)])
            if !watermark.providerMessageIds.isEmpty {
                condition = "(\(condition) OR provider_message_id IN (\(watermark.providerMessageIds.map { _ in "?" }.joined(separator: ", "))))"
                _ = arguments.append(contentsOf: StatementArguments(watermark.providerMessageIds))
            }
            try db.execute(sql: """
                UPDATE messages SET status = ?, updated_at = ?
                WHERE contact_id = ? AND channel = ? AND direction = 'outbound' AND status IN (\(placeholders)) AND \(condition)
                """, arguments: arguments)
            return db.changesCount
        }
    }
}
