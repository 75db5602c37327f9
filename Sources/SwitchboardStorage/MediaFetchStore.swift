import Foundation
import SwitchboardCore

/// One inbound attachment the gateway is to fetch a copy of: a row of `media_fetches`, written by a
/// trigger in the transaction that stores the message (attachments marked `fetch: pending`), so a
/// message acknowledged to the provider always has its fetch queued.
public struct MediaFetch: Sendable, Equatable {
    public var messageId: String
    public var attachmentIndex: Int
    /// The provider's URL.
    public var url: String
    public var channel: Channel
    /// Attempts before this one.
    public var attempts: Int
    /// When the message came (fetches give up a day after).
    public var createdAt: Date
    public var claimId: String

    public init(messageId: String, attachmentIndex: Int, url: String, channel: Channel, attempts: Int, createdAt: Date, claimId: String) {
        self.messageId = messageId
        self.attachmentIndex = attachmentIndex
        self.url = url
        self.channel = channel
        self.attempts = attempts
        self.createdAt = createdAt
        self.claimId = claimId
    }
}

/// How a fetch ended.
public enum MediaFetchOutcome: Sendable, Equatable {
    /// Kept: the attachment's `url` becomes `url` (the gateway's), `providerUrl` the provider's.
    case stored(mediaId: String, url: String, mimeType: String)
    /// Given up: the attachment keeps the provider's URL and says why.
    case failed(String)
    /// Tried again at `notBefore`.
    case retry(notBefore: Date, error: String)
}

/// The queue of inbound media to fetch.
public protocol MediaFetchStore: Sendable {
    /// Takes up to `limit` due fetches, leased for `lease` seconds under one claim id.
    func claimMediaFetches(limit: Int, now: Date, lease: Double) async throws -> [MediaFetch]
    /// Records how a fetch ended, only while its claim holds it (else `StoreError.leaseLost`):
    /// a retry moves it; stored or failed removes it and rewrites the attachment in the message,
    /// which is returned (nil when the message is gone).
    func completeMediaFetch(_ fetch: MediaFetch, outcome: MediaFetchOutcome, at now: Date) async throws -> Message?
}

extension Content {
    /// The content after a fetch of attachment `index` (from `providerURL`) ended; nil when that
    /// attachment is no longer the one fetched (a later change replaced it).
    public func applying(_ outcome: MediaFetchOutcome, toAttachment index: Int, fetchedFrom providerURL: String) -> Content? {
        guard attachments.indices.contains(index), attachments[index].url == providerURL || attachments[index].providerUrl == providerURL
        else { return nil }
        var content = self
        switch outcome {
        case .stored(let mediaId, let url, let mimeType):
            content.attachments[index].providerUrl = providerURL
            content.attachments[index].url = url
            content.attachments[index].mediaId = mediaId
            if content.attachments[index].mimeType == nil { content.attachments[index].mimeType = mimeType }
            content.attachments[index].fetch = .stored
            content.attachments[index].fetchError = nil
        case .failed(let reason):
            content.attachments[index].fetch = .failed
            content.attachments[index].fetchError = reason
        case .retry:
            return self
        }
        return content
    }
}
