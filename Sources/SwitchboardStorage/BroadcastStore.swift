import Foundation
import SwitchboardCore

/// Broadcasts: one message to each contact of some tags and ids. The recipients are fixed when the
/// broadcast is created (one row each, so a contact in two tags gets one message); a background
/// fan-out turns them into queued messages a batch at a time, each recipient in the transaction
/// that queues its message (a restart resumes without sending anyone twice). Counts by status are
/// kept by the database as the messages move.
public protocol BroadcastStore: Sendable {
    /// Creates the broadcast and its recipients. Throws `BroadcastStoreError` for a tag or contact
    /// id that does not exist, or a target without anyone in it.
    func createBroadcast(_ draft: BroadcastDraft, at now: Date) async throws -> Broadcast
    func broadcast(id: String) async throws -> Broadcast?
    /// Newest first.
    func broadcasts(limit: Int, before: String?) async throws -> Page<Broadcast>
    /// Broadcasts that still have recipients to fan out to, oldest first.
    func runningBroadcastIds() async throws -> [String]
    /// Decides the fate of up to `limit` waiting recipients with `decide` (pure: `BroadcastRecipientRule`)
    /// and, in one transaction, queues their messages or records them as skipped. A recipient
    /// whose channel already has `window(channel)` of this broadcast's messages waiting in the
    /// outbox stays waiting (`blocked`), so the fan-out follows each channel's pace.
    func fanOutBroadcast(
        id: String, limit: Int, window: @escaping @Sendable (Channel) -> Int,
        decide: @escaping @Sendable (BroadcastCandidate?) -> BroadcastDecision, at now: Date
    ) async throws -> BroadcastFanOut
    /// Stops what is not yet sent: waiting recipients and queued messages not yet in flight are
    /// counted as cancelled.
    func cancelBroadcast(id: String, at now: Date) async throws -> BroadcastCancelResult
}

/// What a broadcast is asked to do.
public struct BroadcastDraft: Sendable, Equatable {
    public var target: BroadcastTarget
    /// Nil: each contact's last used channel.
    public var channel: Channel?
    public var content: Content
    public var author: Message.Author

    public init(target: BroadcastTarget, channel: Channel?, content: Content, author: Message.Author) {
        self.target = target
        self.channel = channel
        self.content = content
        self.author = author
    }
}

public struct BroadcastTarget: Sendable, Equatable, Codable {
    public var tags: [String]
    public var contactIds: [String]

    public init(tags: [String] = [], contactIds: [String] = []) {
        self.tags = tags
        self.contactIds = contactIds
    }
}

public enum BroadcastStatus: String, Sendable, Codable, CaseIterable {
    /// Recipients are being fanned out to, or messages are waiting to be sent.
    case running
    /// Every recipient was sent to (or failed) or skipped.
    case completed
    case cancelled
}

/// Recipients by where they stand; `queued` includes messages being sent.
public struct BroadcastCounts: Sendable, Equatable, Encodable {
    /// Not yet fanned out to.
    public var pending = 0
    public var queued = 0
    public var sent = 0
    public var delivered = 0
    public var read = 0
    public var failed = 0
    /// Stopped by a cancel before they were sent.
    public var cancelled = 0
    public var skipped: [BroadcastSkipReason: Int] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey { case pending, queued, sent, delivered, read, failed, cancelled, skipped }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pending, forKey: .pending)
        try c.encode(queued, forKey: .queued)
        try c.encode(sent, forKey: .sent)
        try c.encode(delivered, forKey: .delivered)
        try c.encode(read, forKey: .read)
        try c.encode(failed, forKey: .failed)
        try c.encode(cancelled, forKey: .cancelled)
        var reasons: [String: Int] = [:]
        for reason in BroadcastSkipReason.allCases { reasons[reason.rawValue] = skipped[reason] ?? 0 }
        try c.encode(reasons, forKey: .skipped)
    }
}

public struct Broadcast: Sendable, Equatable, Encodable {
    public static let idPrefix = "bc_"

    public var id: String
    public var status: BroadcastStatus
    public var target: BroadcastTarget
    public var channel: Channel?
    public var content: Content
    public var author: Message.Author
    public var recipients: Int
    public var counts: BroadcastCounts
    public var createdAt: Date
    public var updatedAt: Date
    public var completedAt: Date?

    public init(
        id: String, status: BroadcastStatus, target: BroadcastTarget, channel: Channel?, content: Content, author: Message.Author,
        recipients: Int, counts: BroadcastCounts, createdAt: Date, updatedAt: Date, completedAt: Date?
    ) {
        self.id = id
        self.status = status
        self.target = target
        self.channel = channel
        self.content = content
        self.author = author
        self.recipients = recipients
        self.counts = counts
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.completedAt = completedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, status, target, channel, content, author, recipients, counts, createdAt, updatedAt, completedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(target, forKey: .target)
        try c.encode(channel, forKey: .channel)
        try c.encode(content, forKey: .content)
        try c.encode(author, forKey: .author)
        try c.encode(recipients, forKey: .recipients)
        try c.encode(counts, forKey: .counts)
        try c.encode(Timestamp.string(from: createdAt), forKey: .createdAt)
        try c.encode(Timestamp.string(from: updatedAt), forKey: .updatedAt)
        try c.encode(completedAt.map(Timestamp.string(from:)), forKey: .completedAt)
    }
}

/// What one fan-out batch did.
public struct BroadcastFanOut: Sendable, Equatable {
    /// Messages queued now.
    public var queued: [Message]
    public var skipped: Int
    /// Recipients still waiting.
    public var remaining: Int
    /// Some recipients wait for a channel's window: more once the outbox has sent some.
    public var blocked: Bool

    public init(queued: [Message] = [], skipped: Int = 0, remaining: Int = 0, blocked: Bool = false) {
        self.queued = queued
        self.skipped = skipped
        self.remaining = remaining
        self.blocked = blocked
    }
}

public enum BroadcastCancelResult: Sendable, Equatable {
    case cancelled(Broadcast)
    /// Completed or cancelled already.
    case finished(Broadcast)
    case notFound
}

/// A broadcast that cannot be created, naming why.
public enum BroadcastStoreError: Error, Sendable, Equatable {
    case unknownTags([String])
    case unknownContacts([String])
    case noRecipients
}
