import Foundation
import SwitchboardCore
import SwitchboardStorage
import Testing

/// The inbound-media queue on every backend: filled in the storing transaction for attachments
/// marked pending, claimed under a lease, retried, and completed by rewriting the attachment.
@Suite("Storage conformance: inbound media fetches")
struct MediaFetchConformanceTests {
    let now = Timestamp.date(millis: Timestamp.millis(Date()))
    struct Unexpected: Error {}

    func mms(_ id: String, pending: Bool = true) -> InboundMessage {
        var photo = Content.Attachment(kind: .image, url: "https://api.twilio.com/Media/\(id)-1", mimeType: "image/png")
        var pdf = Content.Attachment(kind: .file, url: "https://api.twilio.com/Media/\(id)-2", mimeType: "application/pdf")
        if pending {
            photo.fetch = .pending
            pdf.fetch = .pending
        }
        return InboundMessage(
            channel: .sms, senderAddress: "+15550108001", providerMessageId: id, content: Content(text: "look", attachments: [photo, pdf]))
    }

    @Test("stored with pending attachments: one fetch each, claimed once under a lease, retried when due", arguments: StoreBackend.available)
    func queue(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            guard case .stored(let message, _, _) = try await store.ingest(mms("MM1"), at: now, bot: nil) else { throw Unexpected() }
            _ = try await store.ingest(mms("MM1"), at: now, bot: nil) // a provider retry: no second fetch
            _ = try await store.ingest(mms("MM2", pending: false), at: now, bot: nil) // not to be fetched
            let claimed = try await store.claimMediaFetches(limit: 10, now: now, lease: 60)
            #expect(claimed.map(\.messageId) == [message.id, message.id])
            #expect(claimed.map(\.attachmentIndex) == [0, 1])
            #expect(claimed.map(\.url) == ["https://api.twilio.com/Media/MM1-1", "https://api.twilio.com/Media/MM1-2"])
            #expect(claimed.allSatisfy { $0.channel == .sms && $0.attempts == 0 && $0.createdAt == now })
            #expect(try await store.claimMediaFetches(limit: 10, now: now, lease: 60).isEmpty)

            // A retry is due again at its time, with the attempt counted; a stale claim changes nothing.
            _ = try await store.completeMediaFetch(claimed[1], outcome: .retry(notBefore: now.addingTimeInterval(30), error: "503"), at: now)
            await #expect(throws: StoreError.self) {
                try await store.completeMediaFetch(claimed[1], outcome: .failed("late"), at: now)
            }
            #expect(try await store.claimMediaFetches(limit: 10, now: now.addingTimeInterval(29), lease: 60).isEmpty)
            let again = try await store.claimMediaFetches(limit: 10, now: now.addingTimeInterval(30), lease: 60)
            #expect(again.map(\.attachmentIndex) == [1] && again.first?.attempts == 1)

            // Kept: the attachment points at the copy and keeps the provider's URL. Given up: it says why.
            let stored = try #require(try await store.completeMediaFetch(
                claimed[0], outcome: .stored(mediaId: "med_X", url: "https://gw.example/media/med_X?e", mimeType: "image/png"), at: now))
            #expect(stored.content.attachments[0].url == "https://gw.example/media/med_X?e")
            #expect(stored.content.attachments[0].providerUrl == "https://api.twilio.com/Media/MM1-1")
            #expect(stored.content.attachments[0].mediaId == "med_X" && stored.content.attachments[0].fetch == .stored)
            #expect(stored.content.attachments[1].fetch == .pending)
            let failed = try #require(try await store.completeMediaFetch(again[0], outcome: .failed("api.twilio.com answered 404"), at: now))
            #expect(failed.content.attachments[1].fetch == .failed && failed.content.attachments[1].fetchError == "api.twilio.com answered 404")
            #expect(failed.content.attachments[1].url == "https://api.twilio.com/Media/MM1-2" && failed.content.attachments[0].mediaId == "med_X")
            #expect(try await store.message(id: message.id)?.content == failed.content)
            #expect(try await store.claimMediaFetches(limit: 10, now: now.addingTimeInterval(3_600), lease: 60).isEmpty)
        }
    }
}
