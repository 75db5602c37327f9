import Foundation
import GRDB
import SwitchboardCore

// GRDB record types, one per table the SQLite store reads or writes whole rows of. Columns are
// decoded with `Row.decode`, which throws on a NULL or a value of the wrong type (a row subscript
// would trap); each type then turns into the normalized model. Statements the store runs many
// times a second stay cached SQL, fed from these types.

/// A row of `messages`.
struct MessageRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "messages"

    var id: String
    var contactId: String
    var channel: String
    var direction: String
    var authorKind: String
    var authorName: String?
    /// The normalized `Content`, as JSON.
    var content: String
    var status: String
    var providerMessageId: String?
    var errorCode: String?
    var errorMessage: String?
    var reactionEmoji: String?
    var reactionName: String?
    var reactionAt: Int64?
    var createdAt: Int64
    var updatedAt: Int64

    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        contactId = try row.decode(forColumn: "contact_id")
        channel = try row.decode(forColumn: "channel")
        direction = try row.decode(forColumn: "direction")
        authorKind = try row.decode(forColumn: "author_kind")
        authorName = try row.decode(forColumn: "author_name")
        content = try row.decode(forColumn: "content")
        status = try row.decode(forColumn: "status")
        providerMessageId = try row.decode(forColumn: "provider_message_id")
        errorCode = try row.decode(forColumn: "error_code")
        errorMessage = try row.decode(forColumn: "error_message")
        reactionEmoji = try row.decode(forColumn: "reaction_emoji")
        reactionName = try row.decode(forColumn: "reaction_name")
        reactionAt = try row.decode(forColumn: "reaction_at")
        createdAt = try row.decode(forColumn: "created_at")
        updatedAt = try row.decode(forColumn: "updated_at")
    }

    /// The row for `message`, whose content is already encoded as `contentJSON`.
    init(_ message: Message, contentJSON: String) {
        id = message.id
        contactId = message.contactId
        channel = message.channel.rawValue
        direction = message.direction.rawValue
        authorKind = message.author.kind.rawValue
        authorName = message.author.name
        content = contentJSON
        status = message.status.rawValue
        providerMessageId = message.providerMessageId
        errorCode = message.error?.code
        errorMessage = message.error?.message
        reactionEmoji = message.reaction?.emoji
        reactionName = message.reaction?.name
        reactionAt = message.reaction.map { Timestamp.millis($0.at) }
        createdAt = Timestamp.millis(message.createdAt)
        updatedAt = Timestamp.millis(message.updatedAt)
    }

    /// The INSERT of a whole row, for a cached statement; `insertArguments` in its order.
    static let insertSQL = """
        INSERT INTO messages (id, contact_id, channel, direction, author_kind, author_name, content, status,
                              provider_message_id, error_code, error_message, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    var insertArguments: StatementArguments {
        [id, contactId, channel, direction, authorKind, authorName, content, status, providerMessageId, errorCode, errorMessage,
         createdAt, updatedAt]
    }

    /// The normalized message; nil for a row whose channel, direction, author or status this
    /// version does not know.
    func message() throws -> Message? {
        guard let channel = Channel(rawValue: channel),
              let direction = Message.Direction(rawValue: direction),
              let authorKind = Message.Author.Kind(rawValue: authorKind),
              let status = MessageStatus(rawValue: status)
        else { return nil }
        return Message(
            id: id, contactId: contactId, channel: channel, direction: direction,
            author: .init(kind: authorKind, name: authorName), content: try SQLiteStore.decodeContent(content),
            status: status, providerMessageId: providerMessageId,
            error: errorCode.map { MessageError(code: $0, message: errorMessage ?? "") },
            reaction: reactionAt.map { Message.Reaction(emoji: reactionEmoji, name: reactionName, at: Timestamp.date(millis: $0)) },
            createdAt: Timestamp.date(millis: createdAt), updatedAt: Timestamp.date(millis: updatedAt))
    }
}

/// A row of `contacts`.
struct ContactRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "contacts"

    var id: String
    var name: String?
    var photoUrl: String?
    var phone: String?
    var botEnabled: Bool
    var lastMessageAt: Int64?
    var lastChannel: String?
    /// Custom attributes, a JSON object of strings.
    var attributes: String

    init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        name = try row.decode(forColumn: "name")
        photoUrl = try row.decode(forColumn: "photo_url")
        phone = try row.decode(forColumn: "phone")
        botEnabled = try row.decode(forColumn: "bot_enabled")
        lastMessageAt = try row.decode(forColumn: "last_message_at")
        lastChannel = try row.decode(forColumn: "last_channel")
        attributes = try row.decode(forColumn: "attributes")
    }
}

/// A row of `contact_channels`: an address a contact uses on a channel.
struct ContactChannelRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "contact_channels"

    var channel: String
    var address: String
    var contactId: String
    var lastUsedAt: Int64?
    /// Messenger: the page the contact wrote to.
    var pageId: String?
    /// Messenger: the end of the 24-hour window.
    var windowOpenUntil: Int64?

    init(row: Row) throws {
        channel = try row.decode(forColumn: "channel")
        address = try row.decode(forColumn: "address")
        contactId = try row.decode(forColumn: "contact_id")
        lastUsedAt = try row.decode(forColumn: "last_used_at")
        pageId = try row.decode(forColumn: "page_id")
        windowOpenUntil = try row.decode(forColumn: "window_open_until")
    }
}

/// A row of `subscriptions`: a contact's explicit choice on a channel.
struct SubscriptionRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "subscriptions"

    var contactId: String
    var channel: String
    var subscribed: Bool

    init(row: Row) throws {
        contactId = try row.decode(forColumn: "contact_id")
        channel = try row.decode(forColumn: "channel")
        subscribed = try row.decode(forColumn: "subscribed")
    }
}

/// A row of `rcs_capabilities`: what RBM said about a phone, or what its messages proved.
struct RCSCapabilityRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "rcs_capabilities"

    var phone: String
    var capable: Bool
    /// A JSON array of feature names.
    var features: String
    var checkedAt: Int64
    var source: String

    init(row: Row) throws {
        phone = try row.decode(forColumn: "phone")
        capable = try row.decode(forColumn: "capable")
        features = try row.decode(forColumn: "features")
        checkedAt = try row.decode(forColumn: "checked_at")
        source = try row.decode(forColumn: "source")
    }

    var featureList: [String] { (try? JSONDecoder().decode([String].self, from: Data(features.utf8))) ?? [] }

    /// The cache entry as the capability table uses it.
    var record: RCSCapabilityRecord {
        RCSCapabilityRecord(phone: phone, capable: capable, features: featureList, checkedAt: Timestamp.date(millis: checkedAt), source: source)
    }

    /// The contact panel's view of it.
    var info: Contact.RCSInfo {
        Contact.RCSInfo(capable: capable, features: featureList, checkedAt: Timestamp.date(millis: checkedAt))
    }
}

/// A row of `early_statuses`: a status report that came before the send's answer named its id.
struct EarlyStatusRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "early_statuses"

    var channel: String
    var providerMessageId: String
    var status: String
    var errorCode: String?
    var errorMessage: String?
    var receivedAt: Int64

    init(row: Row) throws {
        channel = try row.decode(forColumn: "channel")
        providerMessageId = try row.decode(forColumn: "provider_message_id")
        status = try row.decode(forColumn: "status")
        errorCode = try row.decode(forColumn: "error_code")
        errorMessage = try row.decode(forColumn: "error_message")
        receivedAt = try row.decode(forColumn: "received_at")
    }

    /// The report as StatusRules takes it; nil for a status this version does not know.
    var report: StatusRules.Report? {
        guard let status = MessageStatus(rawValue: status) else { return nil }
        return StatusRules.Report(status: status, error: errorCode.map { MessageError(code: $0, message: errorMessage ?? "") })
    }
}

/// A row of `bot_deliveries`: an inbound message owed to the external bot.
struct BotDeliveryRow: FetchableRecord, TableRecord, Sendable {
    static let databaseTableName = "bot_deliveries"

    var messageId: String
    var contactId: String
    var attempts: Int64
    var nextAttemptAt: Int64

    init(row: Row) throws {
        messageId = try row.decode(forColumn: "message_id")
        contactId = try row.decode(forColumn: "contact_id")
        attempts = try row.decode(forColumn: "attempts")
        nextAttemptAt = try row.decode(forColumn: "next_attempt_at")
    }
}

/// An `outbox` row as a claim reads it, with what the send needs from its message, contact,
/// subscription and Messenger window (one query, joined).
struct OutboxClaimRow: FetchableRecord, Sendable {
    var messageId: String
    var channel: String
    var recipient: String
    var attempts: Int64
    var nextAttemptAt: Int64
    var contactId: String
    var content: String
    var authorKind: String
    var phone: String?
    var outcomeUnknownSince: Int64?
    var subscribed: Bool
    var windowOpenUntil: Int64?

    /// The columns a claim selects, in this type's names.
    static let selection = """
        SELECT o.message_id, o.channel, o.recipient, o.attempts, o.next_attempt_at, m.contact_id, m.content, m.author_kind, c.phone,
               COALESCE(o.outcome_unknown_since, o.attempt_started_at) AS outcome_unknown_since,
               COALESCE((SELECT s.subscribed OR (m.author_kind = 'system' AND m.created_at >= s.updated_at)
                         FROM subscriptions s WHERE s.contact_id = m.contact_id AND s.channel = o.channel), 1) AS subscribed,
               (SELECT window_open_until FROM contact_channels cc
                 WHERE cc.contact_id = m.contact_id AND cc.channel = 'messenger' AND cc.address = o.recipient) AS window_open_until
        FROM outbox o JOIN messages m ON m.id = o.message_id JOIN contacts c ON c.id = m.contact_id
        """

    init(row: Row) throws {
        messageId = try row.decode(forColumn: "message_id")
        channel = try row.decode(forColumn: "channel")
        recipient = try row.decode(forColumn: "recipient")
        attempts = try row.decode(forColumn: "attempts")
        nextAttemptAt = try row.decode(forColumn: "next_attempt_at")
        contactId = try row.decode(forColumn: "contact_id")
        content = try row.decode(forColumn: "content")
        authorKind = try row.decode(forColumn: "author_kind")
        phone = try row.decode(forColumn: "phone")
        outcomeUnknownSince = try row.decode(forColumn: "outcome_unknown_since")
        subscribed = try row.decode(forColumn: "subscribed")
        windowOpenUntil = try row.decode(forColumn: "window_open_until")
    }

    /// The item the outbox worker sends; nil for a channel this version does not know.
    func item(claimId: String) throws -> OutboxItem? {
        guard let channel = Channel(rawValue: channel) else { return nil }
        return OutboxItem(
            messageId: messageId, contactId: contactId, channel: channel, recipient: recipient,
            content: try SQLiteStore.decodeContent(content), previousAttempts: Int(clamping: attempts),
            author: Message.Author.Kind(rawValue: authorKind) ?? .bot, subscribed: subscribed,
            windowOpenUntil: windowOpenUntil.map(Timestamp.date(millis:)), phone: phone,
            outcomeUnknownSince: outcomeUnknownSince.map(Timestamp.date(millis:)), claimId: claimId)
    }
}
