/// The inbound half of a channel: verify a webhook, turn it into normalized events, say how to answer.
///
/// Implementations are pure: no I/O, no clock, no storage. The pipeline does the rest.
public protocol InboundChannelAdapter: Sendable {
    var channel: Channel { get }
    /// Checks the provider's signature over the request; throws `.badSignature` when it does not hold.
    func verify(_ request: WebhookRequest) throws(WebhookError)
    /// Decodes a verified request into events.
    func decode(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent]
    /// Verifies and decodes in one step; what the webhook routes call. The default runs `verify`
    /// then `decode`; an adapter that parses the body for both may do it once here.
    func verifiedEvents(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent]
    /// The answer the provider expects once the events are stored.
    var acknowledgement: WebhookAcknowledgement { get }
}

extension InboundChannelAdapter {
    public func verifiedEvents(_ request: WebhookRequest) throws(WebhookError) -> [InboundEvent] {
        try verify(request)
        return try decode(request)
    }
}

/// The outbound half of a channel: render a message into the provider's HTTP call and interpret its answer.
public protocol OutboundChannelAdapter: Sendable {
    var channel: Channel { get }
    /// The provider call that sends `envelope`; throws when the content cannot be carried at all.
    func render(_ envelope: OutboundEnvelope) throws(MessageError) -> ProviderRequest
    /// What the provider's answer means for the message.
    func interpret(_ response: ProviderResponse) -> SendOutcome
    /// What the provider's answer to the call that sends `envelope` means. An adapter whose
    /// provider answers a repeated call by referring to the first one (RBM's 409 for a reused
    /// `messageId`) reads the envelope here; the default reads the answer alone.
    func interpret(_ response: ProviderResponse, for envelope: OutboundEnvelope) -> SendOutcome
    /// What of `content` the channel cannot carry in any form (after the degradations
    /// docs/outbound.md lists), naming the part; nil when it can go. The API answers 422 with it.
    func contentProblem(_ content: Content) -> MessageError?
}

extension OutboundChannelAdapter {
    public func contentProblem(_ content: Content) -> MessageError? { nil }

    public func interpret(_ response: ProviderResponse, for envelope: OutboundEnvelope) -> SendOutcome {
        interpret(response)
    }
}

/// An outbound message ready for a channel: who gets it, what it says, and what the relay knows
/// that the rendering depends on.
public struct OutboundEnvelope: Sendable, Equatable {
    public var messageId: String
    public var recipientAddress: String
    public var content: Content
    public var author: Message.Author.Kind
    /// RCS: the features the phone supports (RBM feature names), when known.
    public var rcsFeatures: Set<String>?
    /// Messenger: the message tag to send with (`HUMAN_AGENT` outside the 24-hour window), if any.
    public var messengerTag: String?

    public init(
        messageId: String, recipientAddress: String, content: Content, author: Message.Author.Kind = .bot,
        rcsFeatures: Set<String>? = nil, messengerTag: String? = nil
    ) {
        self.messageId = messageId
        self.recipientAddress = recipientAddress
        self.content = content
        self.author = author
        self.rcsFeatures = rcsFeatures
        self.messengerTag = messengerTag
    }
}

/// An HTTP call to a provider, as plain values.
public struct ProviderRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [ProviderHeader]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [ProviderHeader], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// One HTTP header line.
public struct ProviderHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A provider's HTTP answer, as plain values.
public struct ProviderResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [ProviderHeader]
    public var body: [UInt8]

    public init(status: Int, headers: [ProviderHeader], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, matched without regard to case.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// What became of a send attempt.
public enum SendOutcome: Sendable, Equatable {
    /// The provider took the message; it has this id and status now.
    case accepted(providerMessageId: String, status: MessageStatus)
    /// A passing failure (timeouts, 5xx, 429): try again, not before `retryAfterSeconds` if given.
    case retry(MessageError, retryAfterSeconds: Double?)
    /// A failure that the same request will meet again; `unsubscribed` when the provider says the
    /// recipient opted out.
    case failed(MessageError, unsubscribed: Bool)
}
