import Foundation

/// A provider that can be asked whether an earlier send of a message created it, for the outbox to
/// adopt that message instead of sending again after an attempt whose outcome it could not know (a
/// timeout after the request left, a connection lost before the answer).
///
/// Needed where the provider's send API takes no idempotency key (Twilio's Messages API). Like the
/// adapters, implementations are pure: the outbox makes the calls.
public protocol SentMessageLookup: Sendable {
    /// The call that lists the provider's messages `envelope` could have created in an attempt that
    /// started at `since` or later (its first page).
    func renderLookup(_ envelope: OutboundEnvelope, since: Date) -> ProviderRequest
    /// The messages of one page of that list which are the one `envelope` created, oldest first, and
    /// the call for the next page; throws when the answer is an error or unreadable (the outbox then
    /// tries again later rather than risk a second copy).
    func interpretLookup(_ response: ProviderResponse, for envelope: OutboundEnvelope, since: Date) throws(MessageError) -> SentMessageLookupPage
}

/// One page of a provider's message list, read for an earlier send.
public struct SentMessageLookupPage: Sendable, Equatable {
    /// The provider ids of the messages that match the envelope, oldest first.
    public var matches: [String]
    /// The call for the next page, when the provider says there is one.
    public var nextPage: ProviderRequest?

    public init(matches: [String], nextPage: ProviderRequest?) {
        self.matches = matches
        self.nextPage = nextPage
    }
}
