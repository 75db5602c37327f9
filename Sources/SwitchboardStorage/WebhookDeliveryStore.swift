import Foundation
import SwitchboardCore

/// Event webhooks' durable queue. A delivery row is written by the database itself (triggers on
/// messages, contacts and broadcasts) in the transaction that makes the change, one per subscriber
/// that asked for the event: a change that commits is never without its deliveries, and with no
/// subscriber nothing is written at all.
public protocol WebhookDeliveryStore: Sendable {
    /// Records these subscribers (by name) as this gateway's, now. A new one starts enabled; one
    /// whose URL changed is enabled again (a 410 from the old URL no longer speaks for it). One no
    /// longer configured is removed with its deliveries: at once on SQLite (one process); on
    /// PostgreSQL once no instance has named it for a day (instances restarted one by one with a
    /// new configuration keep the old one's deliveries until its last instance is gone). Called at
    /// startup and then hourly by the dispatcher.
    func syncWebhookSubscribers(_ subscribers: [WebhookSubscription], at now: Date) async throws
    /// Takes up to `limit` due deliveries of the named subscribers, each the oldest pending one of
    /// its subscriber and contact and only while no other of that contact is in flight (so a
    /// contact's events go out one at a time, in order), leased for `lease` seconds.
    func claimWebhookDeliveries(subscribers: [String], limit: Int, now: Date, lease: Double) async throws -> [WebhookDelivery]
    /// Records the outcomes of attempts in one transaction, each only while its delivery's
    /// `claimId` still holds the row; returns the ids whose lease was lost (nothing recorded for
    /// them). `subscriberGone` disables the subscriber and fails its other pending deliveries.
    func recordWebhookAttempts(_ attempts: [WebhookAttempt], at now: Date) async throws -> [Int64]
    /// Deliveries newest first, of one state or all, for `GET /api/v1/webhook-deliveries`.
    func webhookDeliveries(state: WebhookDeliveryState?, limit: Int, before: Int64?) async throws -> Page<WebhookDelivery>
    /// Queues a failed or delivered delivery again, due now with a fresh retry window, enabling its
    /// subscriber if a 410 had disabled it.
    func retryWebhookDelivery(id: Int64, at now: Date) async throws -> WebhookRetryResult
    /// Deletes delivered rows finished before `deliveredBefore` and failed ones before
    /// `failedBefore`; returns how many went.
    func purgeWebhookDeliveries(deliveredBefore: Date, failedBefore: Date) async throws -> Int
}

/// A subscriber as the store keeps it: who gets which events. Its URL and secret are used by the
/// dispatcher; the URL is kept to notice when it changes.
public struct WebhookSubscription: Sendable, Equatable {
    public var name: String
    public var url: String
    public var events: Set<WebhookEventType>

    public init(name: String, url: String, events: Set<WebhookEventType>) {
        self.name = name
        self.url = url
        self.events = events
    }
}

public enum WebhookDeliveryState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its first or next attempt (or in flight).
    case pending
    case delivered
    /// Given up on (after the retry window, on a 410, or a refusal); `retry` queues it again.
    case failed
}

/// One event for one subscriber.
public struct WebhookDelivery: Sendable, Equatable, Encodable {
    public var id: Int64
    public var subscriber: String
    public var type: WebhookEventType
    /// The message, contact or broadcast the event is about.
    public var subjectId: String
    /// Deliveries with the same key (a contact's id; a broadcast's) go out in order.
    public var orderingKey: String
    /// `message.status`: the status the message reached.
    public var status: String?
    public var occurredAt: Date
    public var state: WebhookDeliveryState
    /// Attempts made, this one included once claimed.
    public var attempts: Int
    public var firstAttemptAt: Date?
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var lastStatusCode: Int?
    public var finishedAt: Date?
    /// The claim that leased the row, when claimed.
    public var claimId: String?

    public init(
        id: Int64, subscriber: String, type: WebhookEventType, subjectId: String, orderingKey: String, status: String?, occurredAt: Date,
        state: WebhookDeliveryState, attempts: Int, firstAttemptAt: Date?, nextAttemptAt: Date?, lastError: String?, lastStatusCode: Int?,
        finishedAt: Date?, claimId: String?
    ) {
        self.id = id
        self.subscriber = subscriber
        self.type = type
        self.subjectId = subjectId
        self.orderingKey = orderingKey
        self.status = status
        self.occurredAt = occurredAt
        self.state = state
        self.attempts = attempts
        self.firstAttemptAt = firstAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.lastStatusCode = lastStatusCode
        self.finishedAt = finishedAt
        self.claimId = claimId
    }

    /// The id the API shows, and the `webhook-id` header (the same on every attempt).
    public var publicId: String { Self.publicPrefix + String(id) }
    public static let publicPrefix = "whd_"

    /// The row id in a public id, or nil when `text` is not one.
    public static func rowId(publicId text: String) -> Int64? {
        guard text.hasPrefix(publicPrefix) else { return nil }
        let digits = text.dropFirst(publicPrefix.count)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }

    enum CodingKeys: String, CodingKey {
        case id, subscriber, type, subjectId, contactId, status, occurredAt, state, attempts, firstAttemptAt, nextAttemptAt, lastError,
            lastStatusCode, finishedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(publicId, forKey: .id)
        try c.encode(subscriber, forKey: .subscriber)
        try c.encode(type, forKey: .type)
        try c.encode(subjectId, forKey: .subjectId)
        try c.encode(type == .broadcastCompleted ? nil : orderingKey, forKey: .contactId)
        try c.encode(status, forKey: .status)
        try c.encode(Timestamp.string(from: occurredAt), forKey: .occurredAt)
        try c.encode(state, forKey: .state)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(firstAttemptAt.map(Timestamp.string(from:)), forKey: .firstAttemptAt)
        try c.encode(state == .pending ? nextAttemptAt.map(Timestamp.string(from:)) : nil, forKey: .nextAttemptAt)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(lastStatusCode, forKey: .lastStatusCode)
        try c.encode(finishedAt.map(Timestamp.string(from:)), forKey: .finishedAt)
    }
}

extension WebhookDeliveryStore {
    /// Records one attempt's outcome (`StoreError.leaseLost` when its claim no longer holds the row).
    public func recordWebhookAttempt(_ delivery: WebhookDelivery, outcome: WebhookAttemptOutcome, at now: Date) async throws {
        if try await !recordWebhookAttempts([WebhookAttempt(delivery: delivery, outcome: outcome)], at: now).isEmpty {
            throw StoreError.leaseLost(messageId: delivery.publicId)
        }
    }
}

/// A delivery as claimed, and what its attempt came to.
public struct WebhookAttempt: Sendable, Equatable {
    public var delivery: WebhookDelivery
    public var outcome: WebhookAttemptOutcome

    public init(delivery: WebhookDelivery, outcome: WebhookAttemptOutcome) {
        self.delivery = delivery
        self.outcome = outcome
    }
}

/// What one attempt came to.
public enum WebhookAttemptOutcome: Sendable, Equatable {
    case delivered(statusCode: Int)
    case retry(notBefore: Date, error: String, statusCode: Int?)
    case failed(error: String, statusCode: Int?)
    /// 410 Gone: the subscriber does not want any more events.
    case subscriberGone
}

public enum WebhookRetryResult: Sendable, Equatable {
    case queued(WebhookDelivery)
    case notFound
    /// Still pending: it will be attempted anyway.
    case alreadyPending
}
