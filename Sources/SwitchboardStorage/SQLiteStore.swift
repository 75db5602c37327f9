import Foundation
import GRDB
import Logging
import SwitchboardCore

/// The embedded store: one SQLite file in WAL mode with `synchronous = FULL`, so a commit is on
/// disk before it returns. Writes from concurrent requests share commits (`GroupCommitWriter`);
/// reads run in parallel on the pool's readers.
public final class SQLiteStore: MessageStore {
    public let pool: DatabasePool
    private let writer: GroupCommitWriter
    private let logger: Logger

    /// Opens (creating if needed) the database file and applies pending migrations.
    public init(path: String, logger: Logger = Logger(label: "switchboard.storage")) throws {
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.writer = GroupCommitWriter(writer: pool)
        self.logger = logger
        try SwitchboardMigrations.migrator.migrate(pool)
    }

    /// Runs `work` in a shared (group-committed) transaction.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.write(work)
    }

    /// The migrations applied to the database, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try SwitchboardMigrations.migrator.appliedMigrations(db) }
    }

    // MARK: Inbound

    public func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?, policy: InboundPolicy) async throws -> IngestResult {
        let nowMillis = Timestamp.millis(now)
        let messageId = SortableID.make(prefix: SortableID.messagePrefix, now: now)
        let logger = self.logger
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
            if inbound.channel == .sms, !created, content.postback == nil, let choice = try Self.numberedChoice(db, contactId: contactId, text: content.text) {
                content.postback = choice
            }
            let message = Message(
                id: messageId, contactId: contactId, channel: inbound.channel, direction: .inbound,
                author: .init(kind: .contact), content: content, status: .received,
                providerMessageId: inbound.providerMessageId, createdAt: Timestamp.date(millis: nowMillis),
                updatedAt: Timestamp.date(millis: nowMillis))
            try Self.insert(message, contentJSON: try Self.encode(content), db: db)
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

    static func setAttribute(_ db: Database, contactId: String, name: String, value: String?, at now: Int64) throws {
        if let value {
            try db.execute(
                sql: "UPDATE contacts SET attributes = json_set(attributes, '$.\"' || ? || '\"', ?), updated_at = ? WHERE id = ?",
                arguments: [name, value, now, contactId])
        } else {
            try db.execute(
                sql: "UPDATE contacts SET attributes = json_remove(attributes, '$.\"' || ? || '\"'), updated_at = ? WHERE id = ?",
                arguments: [name, now, contactId])
        }
    }

    static func assignTag(_ db: Database, contactId: String, tag: String, at now: Int64) throws {
        try db.execute(sql: "INSERT INTO tags (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [tag, now])
        let canonical = try String.fetchOne(db, sql: "SELECT name FROM tags WHERE name = ?", arguments: [tag]) ?? tag
        try db.execute(
            sql: "INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [contactId, canonical])
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
        return NumberedChoice.postback(for: text, among: try decodeContent(json).quickReplies)
    }

    static func isSubscribed(_ db: Database, contactId: String, channel: Channel) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT subscribed FROM subscriptions WHERE contact_id = ? AND channel = ?"),
            arguments: [contactId, channel.rawValue]) ?? true
    }

    static func setSubscription(_ db: Database, contactId: String, channel: Channel, subscribed: Bool, at now: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO subscriptions (contact_id, channel, subscribed, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (contact_id, channel) DO UPDATE SET subscribed = excluded.subscribed, updated_at = excluded.updated_at
            """).execute(arguments: [contactId, channel.rawValue, subscribed, now])
    }

    static func findOrCreateContact(_ db: Database, channel: Channel, address: String, now: Int64) throws -> (id: String, created: Bool) {
        if let existing = try String.fetchOne(
            db.cachedStatement(sql: "SELECT contact_id FROM contact_channels WHERE channel = ? AND address = ?"),
            arguments: [channel.rawValue, address]) {
            return (existing, false)
        }
        let isPhone = channel == .sms || channel == .rcs
        if isPhone, let samePhone = try String.fetchOne(
            // SMS and RCS from the same phone are one person.
            db.cachedStatement(sql: "SELECT id FROM contacts WHERE phone = ? ORDER BY id LIMIT 1"), arguments: [address]) {
            try db.cachedStatement(sql: "INSERT INTO contact_channels (channel, address, contact_id) VALUES (?, ?, ?)")
                .execute(arguments: [channel.rawValue, address, samePhone])
            return (samePhone, false)
        }
        let id = SortableID.make(prefix: SortableID.contactPrefix, now: Timestamp.date(millis: now))
        try db.cachedStatement(sql: """
            INSERT INTO contacts (id, phone, bot_enabled, last_message_at, last_channel, created_at, updated_at)
            VALUES (?, ?, 1, ?, ?, ?, ?)
            """).execute(arguments: [id, isPhone ? address : nil, now, channel.rawValue, now, now])
        try db.cachedStatement(sql: "INSERT INTO contact_channels (channel, address, contact_id, last_used_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [channel.rawValue, address, id, now])
        return (id, true)
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

    /// Marks the contact's latest activity (in or out) and the channel address it used.
    static func touch(_ db: Database, contactId: String, channel: Channel, address: String?, at now: Int64) throws {
        try db.cachedStatement(sql: """
            UPDATE contacts SET last_message_at = ?, last_channel = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [now, channel.rawValue, now, contactId])
        if let address {
            try db.cachedStatement(sql: "UPDATE contact_channels SET last_used_at = ? WHERE channel = ? AND address = ?")
                .execute(arguments: [now, channel.rawValue, address])
        }
    }

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
        try db.cachedStatement(sql: """
            INSERT INTO messages (id, contact_id, channel, direction, author_kind, author_name, content, status,
                                  provider_message_id, error_code, error_message, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                message.id, message.contactId, message.channel.rawValue, message.direction.rawValue,
                message.author.kind.rawValue, message.author.name, contentJSON, message.status.rawValue,
                message.providerMessageId, message.error?.code, message.error?.message,
                Timestamp.millis(message.createdAt), Timestamp.millis(message.updatedAt),
            ])
    }

    // MARK: Status

    public func applyStatus(_ update: StatusUpdate, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            guard let row = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT * FROM messages WHERE channel = ? AND provider_message_id = ? AND direction = 'outbound'
                    """),
                arguments: [update.channel.rawValue, update.providerMessageId]),
                var message = try Self.message(from: row)
            else {
                // Perhaps ours, with the send's answer not recorded yet: keep it for recordDelivery
                // (a day at most; a provider id that never turns up is someone else's).
                try db.cachedStatement(sql: "DELETE FROM early_statuses WHERE received_at < ?")
                    .execute(arguments: [nowMillis - 86_400_000])
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO early_statuses (channel, provider_message_id, status, error_code, error_message, received_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                        update.channel.rawValue, update.providerMessageId, update.status.rawValue,
                        update.error?.code, update.error?.message, nowMillis,
                    ])
                return nil
            }
            guard message.status.canMove(to: update.status) else { return nil }
            message.status = update.status
            message.error = update.error ?? message.error
            message.updatedAt = Timestamp.date(millis: nowMillis)
            try db.cachedStatement(sql: """
                UPDATE messages SET status = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?
                """).execute(arguments: [
                    message.status.rawValue, message.error?.code, message.error?.message, nowMillis, message.id,
                ])
            return message
        }
    }

    public func applyWatermark(_ watermark: Watermark, at now: Date) async throws -> Int {
        let nowMillis = Timestamp.millis(now)
        let lower = MessageStatus.allCases.filter { $0.canMove(to: watermark.status) && $0 != .received }.map(\.rawValue)
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

    // MARK: Outbox

    public func claimDueOutbox(limit: Int, channelLimits: [Channel: Int], now: Date, lease: Double) async throws -> [OutboxItem] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        return try await writer.write { db in
            let select = """
                SELECT o.message_id, o.channel, o.recipient, o.attempts, o.next_attempt_at, m.contact_id, m.content, m.author_kind, c.phone,
                       COALESCE(o.outcome_unknown_since, o.attempt_started_at) AS outcome_unknown_since,
                       COALESCE((SELECT subscribed FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = o.channel), 1) AS subscribed,
                       (SELECT window_open_until FROM contact_channels cc
                         WHERE cc.contact_id = m.contact_id AND cc.channel = 'messenger' AND cc.address = o.recipient) AS window_open_until
                FROM outbox o JOIN messages m ON m.id = o.message_id JOIN contacts c ON c.id = m.contact_id
                """
            // One range scan of outbox_due_by_channel per channel: a query across channels that
            // excluded the paced ones would step over every waiting paced row on each claim.
            let byChannel = select + " WHERE o.channel = ? AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at LIMIT ?"
            var unpaced: [Row] = []
            if limit > 0 {
                for channel in Channel.allCases where channelLimits[channel] == nil {
                    unpaced += try Row.fetchAll(db.cachedStatement(sql: byChannel), arguments: [channel.rawValue, nowMillis, limit])
                }
            }
            // The earliest due first across the unpaced channels, `limit` in all.
            var rows = Array(unpaced.sorted { ($0["next_attempt_at"] as Int64) < ($1["next_attempt_at"] as Int64) }.prefix(limit))
            for (channel, channelLimit) in channelLimits.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where channelLimit > 0 {
                rows += try Row.fetchAll(db.cachedStatement(sql: byChannel), arguments: [channel.rawValue, nowMillis, channelLimit])
            }
            var items: [OutboxItem] = []
            items.reserveCapacity(rows.count)
            // An attempt still marked started never recorded its outcome (the process died mid-send):
            // it may have reached the provider, so it counts as unknown from its start.
            let lease = try db.cachedStatement(sql: """
                UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1,
                    outcome_unknown_since = COALESCE(outcome_unknown_since, attempt_started_at), attempt_started_at = ?
                WHERE message_id = ?
                """)
            let sending = try db.cachedStatement(sql: """
                UPDATE messages SET status = 'sending', updated_at = ? WHERE id = ? AND status = 'queued'
                """)
            for row in rows {
                let messageId: String = row["message_id"]
                guard let channel = Channel(rawValue: row["channel"]) else { continue }
                try lease.execute(arguments: [leaseEnd, nowMillis, messageId])
                try sending.execute(arguments: [nowMillis, messageId])
                let window: Int64? = row["window_open_until"]
                let unknownSince: Int64? = row["outcome_unknown_since"]
                items.append(OutboxItem(
                    messageId: messageId, contactId: row["contact_id"], channel: channel, recipient: row["recipient"],
                    content: try Self.decodeContent(row["content"]), previousAttempts: row["attempts"],
                    author: Message.Author.Kind(rawValue: row["author_kind"]) ?? .bot, subscribed: row["subscribed"],
                    windowOpenUntil: window.map(Timestamp.date(millis:)), phone: row["phone"],
                    outcomeUnknownSince: unknownSince.map(Timestamp.date(millis:))))
            }
            return items
        }
    }

    /// Applies the status callbacks that came before the provider message id was recorded, in
    /// the order of their statuses (a status never moves backwards), and forgets them.
    static func applyEarlyStatuses(_ db: Database, messageId: String, providerMessageId: String, at nowMillis: Int64) throws {
        // Usually there are none: look before reading the message.
        let early = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT e.* FROM early_statuses e JOIN messages m ON m.channel = e.channel
                WHERE m.id = ? AND e.provider_message_id = ?
                """),
            arguments: [messageId, providerMessageId])
        guard !early.isEmpty,
              let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [messageId]),
              var message = try message(from: row)
        else { return }
        let updates = early.compactMap { row -> (MessageStatus, MessageError?)? in
            guard let status = MessageStatus(rawValue: row["status"]) else { return nil }
            let code: String? = row["error_code"]
            return (status, code.map { MessageError(code: $0, message: row["error_message"] ?? "") })
        }.sorted { $0.0.rank < $1.0.rank }
        for (status, error) in updates where message.status.canMove(to: status) {
            message.status = status
            message.error = error ?? message.error
        }
        try db.cachedStatement(sql: """
            UPDATE messages SET status = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [message.status.rawValue, message.error?.code, message.error?.message, nowMillis, messageId])
        try db.cachedStatement(sql: "DELETE FROM early_statuses WHERE channel = ? AND provider_message_id = ?")
            .execute(arguments: [message.channel.rawValue, providerMessageId])
    }

    public func recordDelivery(messageId: String, result: DeliveryResult, at now: Date) async throws -> Message? {
        try await recordDelivery(messageId: messageId, result: result, at: now, returning: true)
    }

    public func recordDelivery(messageId: String, result: DeliveryResult, at now: Date, returning: Bool) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
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
            return try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [messageId])
                .flatMap { try Self.message(from: $0) }
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

    // MARK: Reads

    public func message(id: String) async throws -> Message? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id]).flatMap { try Self.message(from: $0) }
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
        var after: ContactCursor?
        if let cursor {
            guard let decoded = ContactCursor(encoded: cursor) else { throw StoreError.invalidCursor(cursor) }
            after = decoded
        }
        let afterCursor = after
        return try await pool.read { db in
            // Latest activity first; contacts with no message yet come last. The cursor is the last
            // row's (activity, id), so pages stay stable while new messages arrive.
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let after = afterCursor {
                // The first term lets SQLite seek in contacts_by_recent_activity; the second is exact.
                conditions.append("COALESCE(last_message_at, -1) <= ? AND (COALESCE(last_message_at, -1), id) < (?, ?)")
                _ = arguments.append(contentsOf: [after.activity, after.activity, after.id])
            }
            if let query = filter.query?.trimmingWhitespace(), !query.isEmpty {
                let pattern = "%" + query.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%"
                conditions.append("(name LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\' OR attributes LIKE ? ESCAPE '\\')")
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
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY COALESCE(last_message_at, -1) DESC, id DESC LIMIT ?"
            _ = arguments.append(contentsOf: [limit + 1])
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let pageRows = rows.prefix(limit)
            let contacts = try pageRows.compactMap { try Self.loadContact(db, id: $0["id"]) }
            let next = rows.count > limit ? pageRows.last.map { ContactCursor(activity: $0["activity"], id: $0["id"]).encoded } : nil
            return Page(items: contacts, nextCursor: next)
        }
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
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        let page = try rows.prefix(limit).compactMap { try Self.message(from: $0) }
        return Page(items: page, nextCursor: rows.count > limit ? page.last?.id : nil)
    }

    public func messages(contactId: String, after: String, limit: Int) async throws -> [Message] {
        let limit = max(1, min(limit, 500))
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM messages WHERE contact_id = ? AND id > ? ORDER BY id LIMIT ?",
                arguments: [contactId, after, limit]
            ).compactMap { try Self.message(from: $0) }
        }
    }

    public func contactId(channel: Channel, address: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(
                db, sql: "SELECT contact_id FROM contact_channels WHERE channel = ? AND address = ?",
                arguments: [channel.rawValue, address])
        }
    }

    public func secret(named name: String, create: @escaping @Sendable () -> String) throws -> String {
        let candidate = create()
        let now = Timestamp.millis(Date())
        return try pool.write { db in
            try db.execute(
                sql: "INSERT INTO gateway_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [name, candidate, now])
            return try String.fetchOne(db, sql: "SELECT value FROM gateway_secrets WHERE name = ?", arguments: [name]) ?? candidate
        }
    }

    public func enqueueOutbound(
        contactId: String, channel: Channel, recipient: String, content: Content, author: Message.Author, at now: Date
    ) async throws -> Message {
        try await writer.write { db in
            try Self.enqueue(db, contactId: contactId, channel: channel, recipient: recipient, content: content, author: author, now: now)
        }
    }

    public func reroute(messageId: String, to channel: Channel, recipient: String, at now: Date) async throws {
        let nowMillis = Timestamp.millis(now)
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE messages SET channel = ?, updated_at = ? WHERE id = ?", arguments: [channel.rawValue, nowMillis, messageId])
            try db.execute(
                sql: "UPDATE outbox SET channel = ?, recipient = ? WHERE message_id = ?", arguments: [channel.rawValue, recipient, messageId])
        }
    }

    public func messages(status: MessageStatus, limit: Int, before: String?) async throws -> Page<Message> {
        try await pool.read { db in
            try Self.newestMessages(db, where: "status = ?", status.rawValue, limit: limit, before: before)
        }
    }

    public func rcsCapability(phone: String) async throws -> RCSCapabilityRecord? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM rcs_capabilities WHERE phone = ?", arguments: [phone]) else { return nil }
            let featuresJSON: String = row["features"]
            return RCSCapabilityRecord(
                phone: row["phone"], capable: row["capable"],
                features: (try? JSONDecoder().decode([String].self, from: Data(featuresJSON.utf8))) ?? [],
                checkedAt: Timestamp.date(millis: row["checked_at"]), source: row["source"])
        }
    }

    public func saveRCSCapability(_ record: RCSCapabilityRecord) async throws {
        let features = String(decoding: try JSONEncoder().encode(record.features), as: UTF8.self)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO rcs_capabilities (phone, capable, features, checked_at, source) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (phone) DO UPDATE SET capable = excluded.capable, features = excluded.features,
                        checked_at = excluded.checked_at, source = excluded.source
                    """,
                arguments: [record.phone, record.capable, features, Timestamp.millis(record.checkedAt), record.source])
        }
    }

    public func claimBotDeliveries(limit: Int, now: Date, lease: Double) async throws -> [BotDelivery] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        return try await writer.write { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT message_id, attempts FROM bot_deliveries WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                arguments: [nowMillis, limit])
            var deliveries: [BotDelivery] = []
            for row in rows {
                let id: String = row["message_id"]
                try db.execute(
                    sql: "UPDATE bot_deliveries SET next_attempt_at = ?, attempts = attempts + 1 WHERE message_id = ?",
                    arguments: [leaseEnd, id])
                guard let messageRow = try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE id = ?", arguments: [id]),
                      let message = try Self.message(from: messageRow),
                      let contact = try Self.loadContact(db, id: message.contactId)
                else { continue }
                deliveries.append(BotDelivery(message: message, contact: contact, previousAttempts: row["attempts"]))
            }
            return deliveries
        }
    }

    public func completeBotDelivery(_ delivery: BotDelivery, turn: BotTurn?, at now: Date) async throws -> [Message] {
        let logger = self.logger
        return try await writer.write { db in
            try db.execute(sql: "DELETE FROM bot_deliveries WHERE message_id = ?", arguments: [delivery.message.id])
            guard let turn, let contact = try Self.loadContact(db, id: delivery.contact.id), contact.botEnabled else { return [] }
            let channel = delivery.message.channel
            guard let recipient = contact.channels.first(where: { $0.channel == channel })?.address else { return [] }
            return try Self.apply(
                BotTurnPlan(turn: turn, channel: channel, subscribed: contact.subscriptions[channel.rawValue] != false),
                contactId: contact.id, channel: channel, recipient: recipient, db: db, now: now, logger: logger)
        }
    }

    public func retryBotDelivery(messageId: String, notBefore: Date?, error: String) async throws {
        try await writer.write { db in
            if let notBefore {
                try db.execute(
                    sql: "UPDATE bot_deliveries SET next_attempt_at = ?, last_error = ? WHERE message_id = ?",
                    arguments: [Timestamp.millis(notBefore), error, messageId])
            } else {
                try db.execute(sql: "DELETE FROM bot_deliveries WHERE message_id = ?", arguments: [messageId])
            }
        }
    }

    public func checkReadiness() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: Rows

    static func loadContact(_ db: Database, id: String) throws -> Contact? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM contacts WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        let channelRows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT channel, address, last_used_at FROM contact_channels WHERE contact_id = ?
                ORDER BY last_used_at DESC, channel
                """),
            arguments: [id])
        var channels: [Contact.ChannelAddress] = []
        for channelRow in channelRows {
            guard let channel = Channel(rawValue: channelRow["channel"]) else { continue }
            let used: Int64? = channelRow["last_used_at"]
            channels.append(.init(channel: channel, address: channelRow["address"], lastUsedAt: used.map(Timestamp.date(millis:))))
        }
        var subscriptions: [String: Bool] = [:]
        for channel in channels { subscriptions[channel.channel.rawValue] = true }
        for subscriptionRow in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT channel, subscribed FROM subscriptions WHERE contact_id = ?"), arguments: [id]) {
            subscriptions[subscriptionRow["channel"]] = subscriptionRow["subscribed"]
        }
        var facebook: Contact.FacebookInfo?
        if let messenger = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT address, page_id, window_open_until FROM contact_channels
                WHERE contact_id = ? AND channel = 'messenger' ORDER BY last_used_at DESC LIMIT 1
                """),
            arguments: [id]) {
            let until: Int64? = messenger["window_open_until"]
            facebook = .init(psid: messenger["address"], pageId: messenger["page_id"], windowOpenUntil: until.map(Timestamp.date(millis:)))
        }
        var rcs: Contact.RCSInfo?
        let phone: String? = row["phone"]
        if let phone, let capability = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT capable, features, checked_at FROM rcs_capabilities WHERE phone = ?"), arguments: [phone]) {
            let featuresJSON: String = capability["features"]
            let features = (try? JSONDecoder().decode([String].self, from: Data(featuresJSON.utf8))) ?? []
            rcs = .init(capable: capability["capable"], features: features, checkedAt: Timestamp.date(millis: capability["checked_at"]))
        }
        let attributesJSON: String = row["attributes"]
        let attributes = (try? JSONDecoder().decode([String: String].self, from: Data(attributesJSON.utf8))) ?? [:]
        let lastMessageAt: Int64? = row["last_message_at"]
        let lastChannel: String? = row["last_channel"]
        return Contact(
            id: row["id"], name: row["name"], photoUrl: row["photo_url"], phone: row["phone"],
            botEnabled: row["bot_enabled"], lastMessageAt: lastMessageAt.map(Timestamp.date(millis:)),
            lastChannel: lastChannel.flatMap(Channel.init(rawValue:)), channels: channels,
            subscriptions: subscriptions, rcs: rcs, facebook: facebook, attributes: attributes,
            tags: try String.fetchAll(
                db.cachedStatement(sql: "SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY tag COLLATE NOCASE"), arguments: [id]))
    }

    static func message(from row: Row) throws -> Message? {
        guard let channel = Channel(rawValue: row["channel"]),
              let direction = Message.Direction(rawValue: row["direction"]),
              let authorKind = Message.Author.Kind(rawValue: row["author_kind"]),
              let status = MessageStatus(rawValue: row["status"])
        else { return nil }
        let errorCode: String? = row["error_code"]
        let errorMessage: String? = row["error_message"]
        return Message(
            id: row["id"], contactId: row["contact_id"], channel: channel, direction: direction,
            author: .init(kind: authorKind, name: row["author_name"]), content: try decodeContent(row["content"]),
            status: status, providerMessageId: row["provider_message_id"],
            error: errorCode.map { MessageError(code: $0, message: errorMessage ?? "") },
            createdAt: Timestamp.date(millis: row["created_at"]), updatedAt: Timestamp.date(millis: row["updated_at"]))
    }

    static func encode(_ content: Content) throws -> String {
        String(decoding: try JSONEncoder().encode(content), as: UTF8.self)
    }

    static func decodeContent(_ json: String) throws -> Content {
        try JSONDecoder().decode(Content.self, from: Data(json.utf8))
    }
}

/// The contacts list cursor: the last row's activity time and id, as `activity.id`.
struct ContactCursor {
    var activity: Int64
    var id: String

    init(activity: Int64, id: String) {
        self.activity = activity
        self.id = id
    }

    init?(encoded: String) {
        let parts = encoded.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let activity = Int64(parts[0]),
              parts[1].hasPrefix(SortableID.contactPrefix), parts[1].count == SortableID.contactPrefix.count + 26
        else { return nil }
        self.activity = activity
        self.id = String(parts[1])
    }

    var encoded: String { "\(activity).\(id)" }
}
