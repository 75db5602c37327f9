import Foundation

/// The one message format every channel is normalized into (see docs/api.md).
public struct Message: Codable, Sendable, Equatable {
    public var id: String
    public var contactId: String
    public var channel: Channel
    public var direction: Direction
    public var author: Author
    public var content: Content
    public var status: MessageStatus
    public var providerMessageId: String?
    public var error: MessageError?
    /// The contact's reaction to this message (Messenger's emoji reactions), if any.
    public var reaction: Reaction?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, contactId: String, channel: Channel, direction: Direction, author: Author,
        content: Content, status: MessageStatus, providerMessageId: String? = nil,
        error: MessageError? = nil, reaction: Reaction? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.contactId = contactId
        self.channel = channel
        self.direction = direction
        self.author = author
        self.content = content
        self.status = status
        self.providerMessageId = providerMessageId
        self.error = error
        self.reaction = reaction
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// A contact's reaction to a message: the emoji and the provider's name for it (Messenger's
    /// `smile`, `love`, …, `other`), and when it was made. One a message: a new one replaces it.
    public struct Reaction: Codable, Sendable, Equatable {
        public var emoji: String?
        public var name: String?
        public var at: Date

        public init(emoji: String?, name: String?, at: Date) {
            self.emoji = emoji
            self.name = name
            self.at = at
        }

        /// Longest emoji and name kept (an emoji is a few scalars; anything longer is not one).
        public static let maxLength = 32
    }

    public enum Direction: String, Codable, Sendable {
        case inbound
        case outbound
    }

    /// Who wrote a message.
    public struct Author: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            case contact, bot, agent, system
        }
        public var kind: Kind
        public var name: String?

        public init(kind: Kind, name: String? = nil) {
            self.kind = kind
            self.name = name
        }
    }
}

/// The lifecycle of a message. Inbound messages are `received`; outbound ones move
/// queued → sending → sent → delivered → read, or end `failed`.
public enum MessageStatus: String, Codable, Sendable, CaseIterable {
    case received, queued, sending, sent, delivered, read, failed

    /// Position in the forward-only order used to refuse backward moves.
    public var rank: Int {
        switch self {
        case .received: 0
        case .queued: 1
        case .sending: 2
        case .sent: 3
        case .delivered: 4
        case .read: 5
        case .failed: 6
        }
    }

    /// Whether moving from `self` to `next` is forward. `failed` is final, and a message that was
    /// delivered or read does not become failed through a late callback.
    public func canMove(to next: MessageStatus) -> Bool {
        if self == .failed { return false }
        if next == .failed { return rank < MessageStatus.delivered.rank }
        return next.rank > rank
    }
}

/// A provider's or the gateway's reason for a failure, shown on the message.
public struct MessageError: Codable, Sendable, Equatable, Error {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
