import Foundation
import SwitchboardCore
import SwitchboardStorage
import Testing

/// A contact's reaction on every backend: kept on the message it is on, only from that message's
/// own contact, replaced, taken back, never moved back by an older report, and an event webhook.
@Suite("Storage conformance: reactions")
struct ReactionStoreConformanceTests {
    let now = Timestamp.date(millis: Timestamp.millis(Date()))
    struct Unexpected: Error {}

    func reaction(_ mid: String, from psid: String = "PSID-r1", emoji: String?, name: String?, at: Date?) -> ReactionUpdate {
        ReactionUpdate(channel: .messenger, senderAddress: psid, providerMessageId: mid, emoji: emoji, name: name, at: at)
    }

    @Test("a reaction is kept on the message, replaced, taken back, and written as message.reaction", arguments: StoreBackend.available)
    func reactions(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.syncWebhookSubscribers(
                [WebhookSubscription(name: "crm", url: "https://crm.example/hooks", events: [.messageReaction])], at: now)
            let inbound = InboundMessage(channel: .messenger, senderAddress: "PSID-r1", providerMessageId: "m_in1", content: Content(text: "hi"))
            guard case .stored(let first, _, _) = try await store.ingest(inbound, at: now, bot: nil) else { throw Unexpected() }
            let reply = try await store.enqueueOutbound(
                contactId: first.contactId, channel: .messenger, recipient: "PSID-r1", content: Content(text: "hello"),
                author: .init(kind: .agent), at: now)
            _ = try await store.recordDelivery(messageId: reply.id, result: .sent(providerMessageId: "m_out1"), at: now)
            // Another contact on the channel cannot react to this contact's message.
            let stranger = InboundMessage(channel: .messenger, senderAddress: "PSID-r2", providerMessageId: "m_in2", content: Content(text: "yo"))
            _ = try await store.ingest(stranger, at: now, bot: nil)
            #expect(try await store.applyReaction(reaction("m_out1", from: "PSID-r2", emoji: "😡", name: "angry", at: now), at: now) == nil)
            #expect(try await store.applyReaction(reaction("m_nobody", emoji: "😡", name: "angry", at: now), at: now) == nil)

            let at = now.addingTimeInterval(1)
            let loved = try #require(try await store.applyReaction(reaction("m_out1", emoji: "❤️", name: "love", at: at), at: now))
            #expect(loved.id == reply.id && loved.reaction == Message.Reaction(emoji: "❤️", name: "love", at: at))
            #expect(try await store.message(id: reply.id)?.reaction == loved.reaction)
            #expect(try await store.messages(contactId: first.contactId, limit: 10, before: nil).items.first { $0.id == reply.id }?.reaction == loved.reaction)
            // The same report again changes nothing; an older one does not win over it.
            #expect(try await store.applyReaction(reaction("m_out1", emoji: "❤️", name: "love", at: at), at: now) == nil)
            #expect(try await store.applyReaction(reaction("m_out1", emoji: "😮", name: "wow", at: now), at: now) == nil)
            let wow = try #require(try await store.applyReaction(reaction("m_out1", emoji: "😮", name: "wow", at: at.addingTimeInterval(1)), at: now))
            #expect(wow.reaction?.emoji == "😮")
            // Taken back: gone from the message. A reaction on the contact's own message is kept too.
            let removed = try #require(try await store.applyReaction(reaction("m_out1", emoji: nil, name: nil, at: at.addingTimeInterval(2)), at: now))
            #expect(removed.reaction == nil)
            #expect(try await store.message(id: reply.id)?.reaction == nil)
            #expect(try await store.applyReaction(reaction("m_in1", emoji: "👍", name: "like", at: nil), at: now)?.reaction?.at == now)

            let deliveries = try await store.webhookDeliveries(state: .pending, limit: 100, before: nil).items
            #expect(deliveries.filter { $0.type == .messageReaction }.map(\.subjectId).sorted() == [first.id, reply.id, reply.id, reply.id].sorted())
            #expect(deliveries.allSatisfy { $0.type == .messageReaction && $0.orderingKey == first.contactId })

            // Without a subscriber a reaction writes no delivery (on SQLite the trigger is gone; on
            // PostgreSQL a subscriber nobody names goes after a day).
            try await store.syncWebhookSubscribers([], at: now.addingTimeInterval(86_401))
            let remaining = try await store.webhookDeliveries(state: .pending, limit: 100, before: nil).items.count
            let liked = try await store.applyReaction(reaction("m_out1", emoji: "👍", name: "like", at: at.addingTimeInterval(3)), at: now)
            #expect(liked?.reaction?.emoji == "👍")
            #expect(try await store.webhookDeliveries(state: .pending, limit: 100, before: nil).items.count == remaining)
        }
    }
}
