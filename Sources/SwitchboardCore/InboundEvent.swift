import Foundation

/// One thing a webhook told us, normalized.
public enum InboundEvent: Sendable, Equatable {
    /// A contact wrote to us.
    case message(InboundMessage)
    /// A provider reports progress of a message we sent.
    case statusUpdate(StatusUpdate)
    /// The contact's device reports every outbound message up to a time delivered or read
    /// (Messenger's watermarks), with the ids it names, if any.
    case watermark(Watermark)
    /// The contact reacted to a message, or took a reaction back (`reaction` nil).
    case reaction(ReactionUpdate)
    /// The contact is typing.
    case typing(channel: Channel, senderAddress: String)
    /// A valid event the gateway does not act on; the reason is logged.
    case ignored(String)
}

/// "Everything we sent this contact on this channel up to `upTo` is now `status`."
public struct Watermark: Sendable, Equatable {
    public var channel: Channel
    /// The contact's address on the channel (the PSID for Messenger).
    public var senderAddress: String
    /// `.delivered` or `.read`.
    public var status: MessageStatus
    public var upTo: Date
    /// Provider message ids the event names explicitly (Messenger's `delivery.mids`).
    public var providerMessageIds: [String]

    public init(channel: Channel, senderAddress: String, status: MessageStatus, upTo: Date, providerMessageIds: [String] = []) {
        self.channel = channel
        self.senderAddress = senderAddress
        self.status = status
        self.upTo = upTo
        self.providerMessageIds = providerMessageIds
    }
}

/// A message from a contact, before it has a contact id or a message id.
public struct InboundMessage: Sendable, Equatable {
    public var channel: Channel
    /// The sender's address on the channel (E.164 phone, PSID, visitor id).
    public var senderAddress: String
    /// Our address the message was sent to (our number, page id, agent id), when known.
    public var recipientAddress: String?
    /// The provider's identifier, the de-duplication key together with the channel.
    public var providerMessageId: String
    public var content: Content
    /// When the provider says the contact sent it, if it says.
    public var sentAt: Date?

    public init(
        channel: Channel, senderAddress: String, recipientAddress: String? = nil, providerMessageId: String,
        content: Content, sentAt: Date? = nil
    ) {
        self.channel = channel
        self.senderAddress = senderAddress
        self.recipientAddress = recipientAddress
        self.providerMessageId = providerMessageId
        self.content = content
        self.sentAt = sentAt
    }
}

/// A provider's report on an outbound message, named by the provider's message id.
public struct StatusUpdate: Sendable, Equatable {
    public var channel: Channel
    public var providerMessageId: String
    public var status: MessageStatus
    public var error: MessageError?

    public init(channel: Channel, providerMessageId: String, status: MessageStatus, error: MessageError? = nil) {
        self.channel = channel
        self.providerMessageId = providerMessageId
        self.status = status
        self.error = error
    }
}

/// "The contact at `senderAddress` reacted to the message the provider knows as `providerMessageId`"
/// (or, with `emoji` and `name` both nil, took their reaction back).
public struct ReactionUpdate: Sendable, Equatable {
    public var channel: Channel
    public var senderAddress: String
    public var providerMessageId: String
    public var emoji: String?
    public var name: String?
    /// When the provider says it happened; the gateway's clock otherwise.
    public var at: Date?

    public init(channel: Channel, senderAddress: String, providerMessageId: String, emoji: String?, name: String?, at: Date?) {
        self.channel = channel
        self.senderAddress = senderAddress
        self.providerMessageId = providerMessageId
        self.emoji = emoji
        self.name = name
        self.at = at
    }

    /// Whether this takes the contact's reaction back.
    public var isRemoval: Bool { emoji == nil && name == nil }

    /// The reaction the message carries afterwards.
    public func reaction(now: Date) -> Message.Reaction? {
        isRemoval ? nil : Message.Reaction(emoji: emoji, name: name, at: at ?? now)
    }
}
