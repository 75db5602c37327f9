import Foundation
import SwitchboardCore

/// Inbound: provider webhooks become messages (once per provider id), and provider reports move
/// outbound messages forward.
public protocol InboundStore: Sendable {
    /// Stores an inbound message once per (channel, provider message id), finding or creating its
    /// contact, and queues the bot's replies in the same transaction. Returns after the commit.
    func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?, policy: InboundPolicy) async throws -> IngestResult
    /// Moves an outbound message forward by a provider's report; nil when no message matches or the
    /// report would move it backwards.
    func applyStatus(_ update: StatusUpdate, at now: Date) async throws -> Message?
    /// Moves every outbound message to the contact on the channel up to the watermark forward;
    /// returns how many moved.
    func applyWatermark(_ watermark: Watermark, at now: Date) async throws -> Int
    /// Sets or clears the contact's reaction on the message the provider names, when that message
    /// is in the sender's own conversation; nil when none matches or nothing changes (a repeated
    /// webhook, or a report older than the reaction stored).
    func applyReaction(_ update: ReactionUpdate, at now: Date) async throws -> Message?
}

/// The outbox: outbound messages queued, claimed with a lease, and their outcomes recorded.
public protocol OutboxStore: Sendable {
    /// Takes due outbox rows for sending and leases them for `lease` seconds: up to
    /// `channelLimits[channel]` rows of each listed channel, and up to `limit` rows of the others.
    func claimDueOutbox(limit: Int, channelLimits: [Channel: Int], now: Date, lease: Double) async throws -> [OutboxItem]
    /// The outbound message on `channel` that has `providerMessageId`, if any (so a message found
    /// at the provider is adopted by one message only).
    func outboundMessageId(channel: Channel, providerMessageId: String) async throws -> String?
    /// Records the outcome of one send attempt, reading the message back only when `returning`
    /// (someone listens for it; most sends have none). With a `claimId` (the claim's
    /// `OutboxItem.claimId`), only while that claim still holds the row: a worker whose lease expired
    /// and was taken over gets `StoreError.leaseLost` and changes nothing. Without one
    /// (an administrative outcome), unconditionally.
    func recordDelivery(messageId: String, claimId: String?, result: DeliveryResult, at now: Date, returning: Bool) async throws -> Message?
    /// When the next outbox row is due, if any.
    func nextOutboxDue() async throws -> Date?
    /// Queues an outbound message (an agent's or the API's) and returns it.
    func enqueueOutbound(contactId: String, channel: Channel, recipient: String, content: Content, author: Message.Author, at now: Date) async throws -> Message
    /// Moves a queued message to another channel and recipient (RCS falling back to SMS), only
    /// while `claimId` holds its outbox row (else `StoreError.leaseLost`).
    func reroute(messageId: String, claimId: String, to channel: Channel, recipient: String, at now: Date) async throws
}

/// The conversations view: contacts, their trails and panels, tags.
public protocol ConversationStore: Sendable {
    func message(id: String) async throws -> Message?
    func contact(id: String) async throws -> Contact?
    func contacts(limit: Int, cursor: String?) async throws -> Page<Contact>
    func messages(contactId: String, limit: Int, before: String?) async throws -> Page<Message>
    /// A contact's messages after the one with id `after`, oldest first (web-chat resume).
    func messages(contactId: String, after: String, limit: Int) async throws -> [Message]
    /// The contact that uses `address` on `channel`, if any.
    func contactId(channel: Channel, address: String) async throws -> String?
    /// Failed messages, newest first (the dead-letter listing).
    func messages(status: MessageStatus, limit: Int, before: String?) async throws -> Page<Message>
    /// The contacts list narrowed by a filter, latest activity first.
    func contacts(_ filter: ContactFilter, limit: Int, cursor: String?) async throws -> Page<Contact>
    /// The panel's fields; nil when there is no such contact.
    func updateContact(id: String, patch: ContactPatch, at now: Date) async throws -> Contact?
    /// Sets (or with nil removes) a custom attribute; nil when there is no such contact.
    func setAttribute(contactId: String, name: String, value: String?, at now: Date) async throws -> Contact?
    func setSubscription(contactId: String, channel: Channel, subscribed: Bool, at now: Date) async throws -> Contact?
    /// Moves everything of contact `sourceId` (channels, messages, tags, attributes it lacks) to
    /// `targetId` and deletes the source; nil when either does not exist.
    func mergeContact(_ sourceId: String, into targetId: String, at now: Date) async throws -> Contact?
    /// The tag catalogue with counts.
    func tags() async throws -> [TagCount]
    /// Adds a tag to the catalogue; false when it exists.
    func createTag(_ name: String, at now: Date) async throws -> Bool
    /// Removes a tag from the catalogue and every contact; false when it did not exist.
    func deleteTag(_ name: String) async throws -> Bool
    /// Tags a contact, adding the tag to the catalogue when new.
    func assignTag(contactId: String, tag: String, at now: Date) async throws -> Contact?
    func unassignTag(contactId: String, tag: String) async throws -> Contact?
}

/// The external bot's durable queue.
public protocol BotDeliveryStore: Sendable {
    /// Takes up to `limit` inbound messages due for the external bot, leased for `lease` seconds.
    func claimBotDeliveries(limit: Int, now: Date, lease: Double) async throws -> [BotDelivery]
    /// Applies the external bot's answer to a delivered message (replies queued, effects applied)
    /// and removes the delivery, in one transaction; returns the queued replies. Only while the
    /// delivery's claim holds it: a stale claim gets `StoreError.leaseLost` and changes nothing.
    func completeBotDelivery(_ delivery: BotDelivery, turn: BotTurn?, at now: Date) async throws -> [Message]
    /// Schedules another attempt, or with nil gives up on the delivery (the message stays stored).
    /// With a `claimId`, only while that claim holds the delivery (else `StoreError.leaseLost`).
    func retryBotDelivery(messageId: String, claimId: String?, notBefore: Date?, error: String) async throws
}

/// The RCS capability cache.
public protocol CapabilityStore: Sendable {
    /// The cached RCS capability of a phone, if any.
    func rcsCapability(phone: String) async throws -> RCSCapabilityRecord?
    /// Caches an RCS capability lookup.
    func saveRCSCapability(_ record: RCSCapabilityRecord) async throws
}

/// Secrets the gateway makes once and keeps.
public protocol SecretStore: Sendable {
    /// A named secret kept in the database, made with `create` the first time it is asked for;
    /// every instance on the database gets the same value.
    func secret(named name: String, create: @escaping @Sendable () -> String) async throws -> String
}

/// Conversations the business starts: messages to an address, the contact found or created, an
/// idempotency key remembered with what it queued.
public protocol ProactiveStore: Sendable {
    /// What an idempotency key queued, when it was recorded at or after `since`.
    func idempotentSend(key: String, since: Date) async throws -> IdempotentSend?
    /// In one transaction: claims `idempotency` (when given; a key recorded before `since` counts
    /// as unused), finds the contact that uses the address on the channel (or, for SMS and RCS,
    /// has the phone) or creates it, and queues the message. When the key was claimed first by
    /// another request, nothing is queued and that request's send is returned.
    func enqueueProactive(_ send: ProactiveSend, idempotency: IdempotencyClaim?, at now: Date) async throws -> ProactiveSendResult
}

/// A message to queue for an address rather than a contact.
public struct ProactiveSend: Sendable, Equatable {
    public var channel: Channel
    /// E.164 for SMS and RCS, a PSID for Messenger, a visitor id for web chat.
    public var address: String
    public var content: Content
    public var author: Message.Author

    public init(channel: Channel, address: String, content: Content, author: Message.Author) {
        self.channel = channel
        self.address = address
        self.content = content
        self.author = author
    }
}

/// An idempotency key with the fingerprint of the request that brings it.
public struct IdempotencyClaim: Sendable, Equatable {
    public var key: String
    public var requestHash: String
    /// Keys recorded before this are expired: the key may be used again.
    public var since: Date

    public init(key: String, requestHash: String, since: Date) {
        self.key = key
        self.requestHash = requestHash
        self.since = since
    }
}

/// What an idempotency key queued the first time.
public struct IdempotentSend: Sendable, Equatable {
    public var messageId: String
    public var requestHash: String

    public init(messageId: String, requestHash: String) {
        self.messageId = messageId
        self.requestHash = requestHash
    }
}

/// What became of a proactive send.
public enum ProactiveSendResult: Sendable, Equatable {
    case queued(Message, contactCreated: Bool)
    /// The key was claimed first by another request: its send.
    case replayed(IdempotentSend)
}

/// Where the gateway keeps contacts, messages and the outbox: every concern together, as one
/// backend provides them. `SQLiteStore` is the embedded one. Code that needs one concern takes that
/// protocol.
public protocol MessageStore: InboundStore, OutboxStore, ConversationStore, BotDeliveryStore, CapabilityStore, SecretStore,
    ProactiveStore, WebhookDeliveryStore, BroadcastStore, MediaFetchStore {
    /// Throws when the database cannot answer a query.
    func checkReadiness() async throws
    /// The migrations applied to the database, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Lets go of the database (connections, listeners); the store is unusable afterwards.
    func close() async
}

extension MessageStore {
    /// Takes up to `limit` due rows of any channel.
    public func claimDueOutbox(limit: Int, now: Date, lease: Double) async throws -> [OutboxItem] {
        try await claimDueOutbox(limit: limit, channelLimits: [:], now: now, lease: lease)
    }

    /// Records the outcome of one send attempt without a claim (administrative, or tests).
    public func recordDelivery(messageId: String, result: DeliveryResult, at now: Date) async throws -> Message? {
        try await recordDelivery(messageId: messageId, claimId: nil, result: result, at: now, returning: true)
    }

    /// Stores an inbound message with no keyword replies configured.
    public func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?) async throws -> IngestResult {
        try await ingest(inbound, at: now, bot: bot, policy: InboundPolicy())
    }
}

/// What the contacts list is narrowed to.
public struct ContactFilter: Sendable, Equatable {
    /// Part of the name, the phone or an attribute value.
    public var query: String?
    public var tag: String?
    public var channel: Channel?

    public init(query: String? = nil, tag: String? = nil, channel: Channel? = nil) {
        self.query = query
        self.tag = tag
        self.channel = channel
    }
}

/// What became of an inbound message.
public enum IngestResult: Sendable, Equatable {
    /// Stored now, with the replies queued for it (and the contact, when a bot was asked).
    case stored(message: Message, contact: Contact?, replies: [Message])
    /// Seen before: the message stored the first time.
    case duplicate(messageId: String)
}

/// An outbox row claimed for sending.
public struct OutboxItem: Sendable, Equatable {
    public var messageId: String
    public var contactId: String
    public var channel: Channel
    public var recipient: String
    public var content: Content
    /// Attempts made before this one.
    public var previousAttempts: Int
    public var author: Message.Author.Kind
    /// Whether the message may go to the contact on the channel now: subscribed, or, after an
    /// unsubscribe, the gateway's own answer to it (a system message written with the unsubscribe:
    /// the STOP confirmation).
    public var subscribed: Bool
    /// Messenger: when the contact's 24-hour window closes.
    public var windowOpenUntil: Date?
    /// The contact's phone, for a fallback from RCS to SMS.
    public var phone: String?
    /// When the earliest earlier attempt that may have reached the provider started (its outcome
    /// is unknown), or nil when no earlier attempt can have: before sending again, look for it.
    public var outcomeUnknownSince: Date?
    /// The claim that leased the row: recording the outcome needs it (a stale claim changes nothing).
    public var claimId: String
}

/// The outcome of one send attempt, as the outbox records it.
public enum DeliveryResult: Sendable, Equatable {
    case sent(providerMessageId: String)
    /// The attempt did not reach the provider, or the provider refused it for now: try again.
    case retry(MessageError, notBefore: Date)
    /// The attempt that started at `attemptStartedAt` may have reached the provider, and no answer
    /// came (a timeout after the request left, a connection lost mid-answer): try again not before
    /// `notBefore`, and remember that the provider may already have the message.
    case outcomeUnknown(MessageError, notBefore: Date, attemptStartedAt: Date)
    case failed(MessageError, unsubscribed: Bool)
}

/// A page of a listing and the cursor for the next one (nil on the last page).
public struct Page<Item: Sendable & Encodable>: Sendable, Encodable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

extension Page: Equatable where Item: Equatable {}

/// Errors a store reports about the caller's input.
public enum StoreError: Error, Sendable, Equatable {
    /// A pagination cursor that this store did not hand out.
    case invalidCursor(String)
    /// The claim's lease expired and another worker took the row over: this worker's outcome is
    /// not recorded (the new owner's attempt knows an earlier one may have reached the provider).
    case leaseLost(messageId: String)
    /// An idempotency key taken by a request whose send then vanished (its key expired meanwhile):
    /// the caller may try again.
    case idempotencyKeyBusy(String)
}

/// One phone's row in the RCS capability cache.
public struct RCSCapabilityRecord: Sendable, Equatable, Codable {
    public var phone: String
    public var capable: Bool
    public var features: [String]
    public var checkedAt: Date
    /// `lookup` (RBM's capability API), `inbound` (the phone wrote over RCS) or `static` (configuration).
    public var source: String

    public init(phone: String, capable: Bool, features: [String], checkedAt: Date, source: String) {
        self.phone = phone
        self.capable = capable
        self.features = features
        self.checkedAt = checkedAt
        self.source = source
    }
}

/// An inbound message to post to the external bot, with its contact as it is now.
public struct BotDelivery: Sendable, Equatable {
    public var message: Message
    public var contact: Contact
    /// Attempts made before this one.
    public var previousAttempts: Int
    /// The claim that leased the delivery.
    public var claimId: String
}

/// Notifications between the instances sharing one database (PostgreSQL's `LISTEN`/`NOTIFY`):
/// what lets a console connected to one instance see what happens on another. A backend for one
/// process (SQLite) does not provide it.
public protocol CrossInstanceNotifications: Sendable {
    /// Sends `payload` (at most 7,999 bytes) to every instance listening, this one included.
    func notifyInstances(_ payload: String) async throws
    /// Calls `handle` with each payload sent by any instance until the task is cancelled,
    /// listening again after the database comes back.
    func listenToInstances(_ handle: @escaping @Sendable (String) async -> Void) async
}
