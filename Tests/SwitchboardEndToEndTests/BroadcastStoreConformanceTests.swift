import Foundation
import SwitchboardCore
import SwitchboardStorage
import Testing

/// Broadcasts on every backend: recipients fixed once each, fanned out with reasons for the ones
/// skipped, paced by a window, counted as their messages move, cancelled, shared by instances.
@Suite("Storage conformance: broadcasts")
struct BroadcastStoreConformanceTests {
    let now = Timestamp.date(millis: Timestamp.millis(Date()))
    struct Unexpected: Error {}

    func contact(_ store: any MessageStore, _ channel: Channel, _ address: String, at time: Date? = nil) async throws -> String {
        let inbound = InboundMessage(channel: channel, senderAddress: address, providerMessageId: "in-\(address)", content: Content(text: "hi"))
        guard case .stored(let message, _, _) = try await store.ingest(inbound, at: time ?? now, bot: nil) else { throw Unexpected() }
        return message.contactId
    }

    func draft(tags: [String] = [], ids: [String] = [], channel: Channel? = nil) -> BroadcastDraft {
        BroadcastDraft(
            target: BroadcastTarget(tags: tags, contactIds: ids), channel: channel, content: Content(text: "Sale starts today"),
            author: .init(kind: .system, name: "campaigns"))
    }

    let rule = BroadcastRecipientRule(channel: nil, enabledChannels: Set(Channel.allCases))

    func fanOut(_ store: any MessageStore, _ id: String, limit: Int = 100, window: Int = 1_000, rule: BroadcastRecipientRule? = nil)
        async throws -> BroadcastFanOut
    {
        let rule = rule ?? self.rule
        let now = now
        return try await store.fanOutBroadcast(id: id, limit: limit, window: { _ in window }, decide: { rule.decide($0, now: now) }, at: now)
    }

    @Test("tags and ids make one recipient per contact; unknown tags and ids, or nobody, are refused", arguments: StoreBackend.available)
    func recipients(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let a = try await contact(store, .sms, "+15550100001")
            let b = try await contact(store, .sms, "+15550100002")
            let c = try await contact(store, .sms, "+15550100003")
            _ = try await store.assignTag(contactId: a, tag: "vip", at: now)
            _ = try await store.assignTag(contactId: b, tag: "vip", at: now)
            _ = try await store.assignTag(contactId: b, tag: "Beta", at: now)
            let broadcast = try await store.createBroadcast(draft(tags: ["VIP", "beta"], ids: [b, c]), at: now)
            #expect(broadcast.id.hasPrefix("bc_") && broadcast.status == .running)
            #expect(broadcast.recipients == 3 && broadcast.counts.pending == 3 && broadcast.counts.queued == 0)
            #expect(try await store.broadcast(id: broadcast.id) == broadcast)
            #expect(try await store.runningBroadcastIds() == [broadcast.id])
            await #expect(throws: BroadcastStoreError.unknownTags(["gold"])) {
                try await store.createBroadcast(draft(tags: ["vip", "gold"]), at: now)
            }
            await #expect(throws: BroadcastStoreError.unknownContacts(["ct_nobody"])) {
                try await store.createBroadcast(draft(ids: [a, "ct_nobody"]), at: now)
            }
            _ = try await store.createTag("empty", at: now)
            await #expect(throws: BroadcastStoreError.noRecipients) { try await store.createBroadcast(draft(tags: ["empty"]), at: now) }
            let second = try await store.createBroadcast(draft(ids: [a]), at: now.addingTimeInterval(1))
            let page = try await store.broadcasts(limit: 1, before: nil)
            #expect(page.items.map(\.id) == [second.id])
            #expect(try await store.broadcasts(limit: 1, before: page.nextCursor).items.map(\.id) == [broadcast.id])
        }
    }

    @Test("the fan-out queues each reachable recipient once, skips the others by reason, and counts follow the statuses",
          arguments: StoreBackend.available)
    func fanOutAndCounts(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.syncWebhookSubscribers([WebhookSubscription(name: "crm", url: "https://crm.example", events: [.broadcastCompleted])], at: now)
            let reachable = try await contact(store, .sms, "+15550100011")
            let unsubscribed = try await contact(store, .sms, "+15550100012")
            _ = try await store.setSubscription(contactId: unsubscribed, channel: .sms, subscribed: false, at: now)
            let inWindow = try await contact(store, .messenger, "psid-1")
            let outOfWindow = try await contact(store, .messenger, "psid-2", at: now.addingTimeInterval(-2 * 86_400))
            for id in [reachable, unsubscribed, inWindow, outOfWindow] { _ = try await store.assignTag(contactId: id, tag: "all", at: now) }
            let broadcast = try await store.createBroadcast(draft(tags: ["all"]), at: now)

            let batch = try await fanOut(store, broadcast.id)
            #expect(batch.queued.count == 2 && batch.skipped == 2 && batch.remaining == 0 && !batch.blocked)
            #expect(Set(batch.queued.map(\.contactId)) == [reachable, inWindow])
            #expect(batch.queued.allSatisfy { $0.status == .queued && $0.author == .init(kind: .system, name: "campaigns") })
            var current = try #require(try await store.broadcast(id: broadcast.id))
            #expect(current.counts.pending == 0 && current.counts.queued == 2)
            #expect(current.counts.skipped == [.unsubscribed: 1, .outsideMessagingWindow: 1, .noChannel: 0])
            // Nothing left to fan out; a second run queues nobody again.
            #expect(try await store.runningBroadcastIds().isEmpty)
            #expect(try await fanOut(store, broadcast.id).queued.isEmpty)
            // In the contacts' trails.
            #expect(try await store.messages(contactId: reachable, limit: 10, before: nil).items.contains { $0.id == batch.queued[0].id || $0.id == batch.queued[1].id })

            let sms = try #require(batch.queued.first { $0.channel == .sms })
            let messenger = try #require(batch.queued.first { $0.channel == .messenger })
            _ = try await store.recordDelivery(messageId: sms.id, result: .sent(providerMessageId: "SM-b1"), at: now)
            _ = try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SM-b1", status: .delivered), at: now)
            current = try #require(try await store.broadcast(id: broadcast.id))
            #expect(current.counts.queued == 1 && current.counts.delivered == 1 && current.status == .running)
            _ = try await store.recordDelivery(
                messageId: messenger.id, result: .failed(MessageError(code: "x", message: "refused"), unsubscribed: false), at: now)
            current = try #require(try await store.broadcast(id: broadcast.id))
            #expect(current.counts.queued == 0 && current.counts.failed == 1 && current.counts.delivered == 1)
            #expect(current.status == .completed && current.completedAt != nil)
            // Statuses keep counting after completion.
            _ = try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SM-b1", status: .read), at: now)
            current = try #require(try await store.broadcast(id: broadcast.id))
            #expect(current.counts.read == 1 && current.counts.delivered == 0)
            // broadcast.completed is queued once.
            let events = try await store.webhookDeliveries(state: nil, limit: 10, before: nil).items
            #expect(events.map(\.type) == [.broadcastCompleted] && events[0].subjectId == broadcast.id && events[0].status == "completed")
        }
    }

    @Test("a broadcast's channel is used when given: contacts without it are skipped as no_channel", arguments: StoreBackend.available)
    func fixedChannel(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let sms = try await contact(store, .sms, "+15550100021")
            let messenger = try await contact(store, .messenger, "psid-21")
            let broadcast = try await store.createBroadcast(draft(ids: [sms, messenger], channel: .rcs), at: now)
            let batch = try await fanOut(store, broadcast.id, rule: BroadcastRecipientRule(channel: .rcs, enabledChannels: Set(Channel.allCases)))
            // RCS goes to the phone.
            #expect(batch.queued.map(\.contactId) == [sms] && batch.queued[0].channel == .rcs)
            #expect(try await store.broadcast(id: broadcast.id)?.counts.skipped[.noChannel] == 1)
        }
    }

    @Test("the window holds the fan-out while the channel's messages wait in the outbox; cancel stops the rest",
          arguments: StoreBackend.available)
    func windowAndCancel(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var ids: [String] = []
            for index in 0..<6 { ids.append(try await contact(store, .sms, "+1555010003\(index)")) }
            let broadcast = try await store.createBroadcast(draft(ids: ids), at: now)
            let first = try await fanOut(store, broadcast.id, window: 2)
            #expect(first.queued.count == 2 && first.blocked && first.remaining == 4)
            #expect(try await fanOut(store, broadcast.id, window: 2).queued.isEmpty)
            _ = try await store.recordDelivery(messageId: first.queued[0].id, result: .sent(providerMessageId: "SM-w1"), at: now)
            let second = try await fanOut(store, broadcast.id, window: 2)
            #expect(second.queued.count == 1 && second.blocked && second.remaining == 3)

            // One message in flight (claimed) is left to finish; the queued one and the waiting ones are cancelled.
            let inFlight = try #require(try await store.claimDueOutbox(limit: 1, now: now, lease: 30).first)
            guard case .cancelled(let cancelled) = try await store.cancelBroadcast(id: broadcast.id, at: now) else { throw Unexpected() }
            #expect(cancelled.status == .cancelled && cancelled.counts.pending == 0)
            #expect(cancelled.counts.sent == 1 && cancelled.counts.queued == 1 && cancelled.counts.cancelled == 4 && cancelled.counts.failed == 0)
            // The attempt in flight finishes and is counted; the broadcast stays cancelled.
            _ = try await store.recordDelivery(
                messageId: inFlight.messageId, claimId: inFlight.claimId, result: .sent(providerMessageId: "SM-w2"), at: now, returning: false)
            let after = try #require(try await store.broadcast(id: broadcast.id))
            #expect(after.status == .cancelled && after.counts.sent == 2 && after.counts.queued == 0)
            #expect(try await fanOut(store, broadcast.id).queued.isEmpty)
            guard case .finished = try await store.cancelBroadcast(id: broadcast.id, at: now) else { throw Unexpected() }
            #expect(try await store.cancelBroadcast(id: "bc_missing", at: now) == .notFound)
            let failed = try await store.messages(status: .failed, limit: 10, before: nil).items
            #expect(failed.allSatisfy { $0.error?.code == "broadcast_cancelled" } && !failed.isEmpty)
        }
    }

    @Test("stores on one database fan one broadcast out together: each recipient gets one message", arguments: StoreBackend.available)
    func sharedFanOut(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            var ids: [String] = []
            for index in 0..<60 { ids.append(try await contact(stores[0], .sms, "+155501004\(String(format: "%02d", index))")) }
            let broadcast = try await stores[0].createBroadcast(draft(ids: ids), at: now)
            var queued: [String] = []
            for _ in 0..<20 {
                async let left = fanOut(stores[0], broadcast.id, limit: 7)
                async let right = fanOut(stores[1], broadcast.id, limit: 7)
                let (l, r) = try await (left, right)
                queued += (l.queued + r.queued).map(\.contactId)
                if l.remaining == 0 && r.remaining == 0 && l.queued.isEmpty && r.queued.isEmpty { break }
            }
            #expect(queued.count == 60 && Set(queued) == Set(ids))
            #expect(try await stores[1].broadcast(id: broadcast.id)?.counts.queued == 60)
        }
    }
}
