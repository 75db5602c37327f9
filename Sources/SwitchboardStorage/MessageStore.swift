import Foundation
import SwitchboardCore

/// Where the gateway keeps contacts, messages and the outbox. `SQLiteStore` is the embedded one.
public protocol MessageStore: Sendable {
    /// Stores an inbound message once per (channel, provider message id), finding or creating its
    /// contact, and queues the bot's replies in the same transaction. Returns after the commit.
    func ingest(_ inbound: InboundMessage, at now: Date, bot: (any Bot)?) async throws -> IngestResult
    /// Moves an outbound message forward by a provider's report; nil when no message matches or the
    /// report would move it backwards.
    func applyStatus(_ update: StatusUpdate, at now: Date) async throws -> Message?
    /// Moves every outbound message to the contact on the channel up to the watermark forward;
    /// returns how many moved.
    func applyWatermark(_ watermark: Watermark, at now: Date) async throws -> Int
    /// Takes up to `limit` due outbox rows for sending and leases them for `lease` seconds.
    func claimDueOutbox(limit: Int, now: Date, lease: Double) async throws -> [OutboxItem]
    /// Records the outcome of one send attempt.
    func recordDelivery(messageId: String, result: DeliveryResult, at now: Date) async throws -> Message?
    /// When the next outbox row is due, if any.
    func nextOutboxDue() async throws -> Date?
    func message(id: String) async throws -> Message?
    func contact(id: String) async throws -> Contact?
    func contacts(limit: Int, cursor: String?) async throws -> Page<Contact>
    func messages(contactId: String, limit: Int, before: String?) async throws -> Page<Message>
    /// A contact's messages after the one with id `after`, oldest first (web-chat resume).
    func messages(contactId: String, after: String, limit: Int) async throws -> [Message]
    /// The contact that uses `address` on `channel`, if any.
    func contactId(channel: Channel, address: String) async throws -> String?
    /// A named secret kept in the database, made with `create` the first time it is asked for.
    func secret(named name: String, create: @escaping @Sendable () -> String) throws -> String
    /// Throws when the database cannot answer a query.
    func checkReadiness() async throws
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
}

/// The outcome of one send attempt, as the outbox records it.
public enum DeliveryResult: Sendable, Equatable {
    case sent(providerMessageId: String)
    case retry(MessageError, notBefore: Date)
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
}
