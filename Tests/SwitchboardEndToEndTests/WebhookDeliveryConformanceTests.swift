import Foundation
import SwitchboardCore
import SwitchboardStorage
import Testing

/// Event webhooks' queue on every backend: deliveries written with the change that makes them,
/// only for subscribers that asked, claimed in order per contact, retried, failed, replayed.
@Suite("Storage conformance: event-webhook deliveries")
struct WebhookDeliveryConformanceTests {
    let now = Timestamp.date(millis: Timestamp.millis(Date()))
    struct Unexpected: Error {}

    let all = Set(WebhookEventType.allCases)

    func inbound(_ from: String, _ id: String, _ text: String = "hi") -> InboundMessage {
        InboundMessage(channel: .sms, senderAddress: from, providerMessageId: id, content: Content(text: text))
    }

    func stored(_ result: IngestResult) throws -> Message {
        guard case .stored(let message, _, _) = result else { throw Unexpected() }
        return message
    }

    func pending(_ store: any MessageStore) async throws -> [WebhookDelivery] {
        try await store.webhookDeliveries(state: .pending, limit: 100, before: nil).items.reversed()
    }

    @Test("without a subscriber nothing is written; with one, each change writes its events", arguments: StoreBackend.available)
    func writtenWithTheChange(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            _ = try stored(try await store.ingest(inbound("+15550000001", "SM-a"), at: now, bot: nil))
            #expect(try await store.webhookDeliveries(state: nil, limit: 10, before: nil).items.isEmpty)

            try await store.syncWebhookSubscribers([
                WebhookSubscription(name: "crm", url: "https://crm.example/hooks", events: all),
                WebhookSubscription(name: "status-only", url: "https://s.example/hooks", events: [.messageStatus]),
            ], at: now)
            let message = try stored(try await store.ingest(inbound("+15550000002", "SM-b"), at: now, bot: nil))
            var rows = try await pending(store)
            #expect(rows.map(\.subscriber) == ["crm", "crm"])
            // The contact was created (its channel and subscription with it: one event), then the message.
            #expect(rows.map(\.type) == [.contactUpdated, .messageCreated])
            #expect(rows.map(\.subjectId) == [message.contactId, message.id])
            #expect(rows.allSatisfy { $0.orderingKey == message.contactId && $0.attempts == 0 && $0.state == .pending })

            let reply = try await store.enqueueOutbound(
                contactId: message.contactId, channel: .sms, recipient: "+15550000002", content: Content(text: "hello"),
                author: .init(kind: .agent, name: "Ann"), at: now)
            // The outbox's claim (queued → sending) is not an event; sent is.
            let claimedReply = try #require(try await store.claimDueOutbox(limit: 10, now: now, lease: 30).first { $0.messageId == reply.id })
            _ = try await store.recordDelivery(
                messageId: reply.id, claimId: claimedReply.claimId, result: .sent(providerMessageId: "SM-out-1"), at: now, returning: false)
            _ = try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SM-out-1", status: .delivered), at: now)
            rows = try await pending(store)
            let statuses = rows.filter { $0.type == .messageStatus }
            #expect(statuses.filter { $0.subscriber == "crm" }.map(\.status) == ["sent", "delivered"])
            #expect(statuses.filter { $0.subscriber == "status-only" }.map(\.status) == ["sent", "delivered"])
            #expect(rows.filter { $0.subscriber == "status-only" }.count == 2)
            #expect(rows.contains { $0.type == .messageCreated && $0.subjectId == reply.id })

            // Panel changes: one pending event per contact until it is attempted.
            let before = rows.count
            _ = try await store.updateContact(id: message.contactId, patch: ContactPatch(name: "Ada"), at: now)
            _ = try await store.setAttribute(contactId: message.contactId, name: "plan", value: "gold", at: now)
            _ = try await store.assignTag(contactId: message.contactId, tag: "vip", at: now)
            #expect(try await pending(store).count == before)
            // A message's activity does not count as a contact change.
            _ = try stored(try await store.ingest(inbound("+15550000002", "SM-c"), at: now, bot: nil))
            rows = try await pending(store)
            #expect(rows.count == before + 1 && rows.last?.type == .messageCreated)

            // A merge (channels moved, tags and the source removed) writes contact changes too.
            let other = try stored(try await store.ingest(inbound("+15550000003", "SM-e"), at: now, bot: nil))
            _ = try await store.assignTag(contactId: other.contactId, tag: "lead", at: now)
            let claimedAll = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 100, now: now, lease: 30)
            for delivery in claimedAll { try await store.recordWebhookAttempt(delivery, outcome: .delivered(statusCode: 200), at: now) }
            let merged = try #require(try await store.mergeContact(other.contactId, into: message.contactId, at: now))
            #expect(merged.tags.contains("lead"))
            let changed = try await pending(store).filter { $0.type == .contactUpdated && $0.subscriber == "crm" }.map(\.subjectId)
            #expect(Set(changed) == [message.contactId, other.contactId])

            // Removed from the configuration: no more deliveries for it. On PostgreSQL another
            // instance may still run the old configuration: the subscriber goes once nobody has
            // named it for a day.
            if backend == .postgres {
                try await store.syncWebhookSubscribers([], at: now.addingTimeInterval(3_600))
                #expect(try await !store.webhookDeliveries(state: nil, limit: 100, before: nil).items.isEmpty)
            }
            try await store.syncWebhookSubscribers([], at: now.addingTimeInterval(86_401))
            #expect(try await store.webhookDeliveries(state: nil, limit: 100, before: nil).items.isEmpty)
            _ = try stored(try await store.ingest(inbound("+15550000002", "SM-d"), at: now, bot: nil))
            #expect(try await store.webhookDeliveries(state: nil, limit: 100, before: nil).items.isEmpty)
        }
    }

    @Test("claims take one delivery per contact at a time, oldest first, and outcomes need the claim", arguments: StoreBackend.available)
    func inOrderPerContact(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.syncWebhookSubscribers([WebhookSubscription(name: "crm", url: "https://crm.example", events: [.messageCreated])], at: now)
            let a1 = try stored(try await store.ingest(inbound("+15550000011", "SM-1"), at: now, bot: nil))
            let b1 = try stored(try await store.ingest(inbound("+15550000012", "SM-2"), at: now, bot: nil))
            let a2 = try stored(try await store.ingest(inbound("+15550000011", "SM-3"), at: now, bot: nil))

            let first = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now, lease: 30)
            #expect(first.map(\.subjectId) == [a1.id, b1.id])
            #expect(first.allSatisfy { $0.attempts == 1 && $0.firstAttemptAt == now && $0.claimId != nil })
            // In flight: nothing else of those contacts is due.
            #expect(try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now, lease: 30).isEmpty)

            // A stale claim records nothing.
            var stale = first[0]
            stale.claimId = "someone-else"
            await #expect(throws: StoreError.self) { try await store.recordWebhookAttempt(stale, outcome: .delivered(statusCode: 200), at: now) }

            try await store.recordWebhookAttempt(first[0], outcome: .delivered(statusCode: 200), at: now)
            let next = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now, lease: 30)
            #expect(next.map(\.subjectId) == [a2.id])

            // A lease that ran out is taken over; the first worker's outcome is then refused.
            try await store.recordWebhookAttempt(next[0], outcome: .delivered(statusCode: 204), at: now)
            let later = now.addingTimeInterval(31)
            let takenOver = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: later, lease: 30)
            #expect(takenOver.map(\.subjectId) == [b1.id] && takenOver[0].attempts == 2)
            await #expect(throws: StoreError.self) { try await store.recordWebhookAttempt(first[1], outcome: .delivered(statusCode: 200), at: later) }
            try await store.recordWebhookAttempt(takenOver[0], outcome: .delivered(statusCode: 200), at: later)
            let delivered = try await store.webhookDeliveries(state: .delivered, limit: 10, before: nil).items
            #expect(delivered.map(\.subjectId) == [a2.id, b1.id, a1.id])
            #expect(delivered[0].lastStatusCode == 204 && delivered[1].lastStatusCode == 200 && delivered[1].finishedAt == later)
        }
    }

    @Test("a retry waits its time and keeps the contact's later events behind it; failures are listed and replayed", arguments: StoreBackend.available)
    func retryFailAndReplay(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.syncWebhookSubscribers([WebhookSubscription(name: "crm", url: "https://crm.example", events: [.messageCreated])], at: now)
            let m1 = try stored(try await store.ingest(inbound("+15550000021", "SM-1"), at: now, bot: nil))
            let m2 = try stored(try await store.ingest(inbound("+15550000021", "SM-2"), at: now, bot: nil))
            let claimed = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now, lease: 30)
            #expect(claimed.map(\.subjectId) == [m1.id])
            try await store.recordWebhookAttempt(
                claimed[0], outcome: .retry(notBefore: now.addingTimeInterval(60), error: "HTTP 503", statusCode: 503), at: now)
            #expect(try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now.addingTimeInterval(59), lease: 30).isEmpty)
            // The contact's later delivery waits as long, and so does one written meanwhile: a
            // claim does not walk them until then.
            let m3 = try stored(try await store.ingest(inbound("+15550000021", "SM-3"), at: now, bot: nil))
            let waiting = try await pending(store)
            #expect(waiting.map(\.subjectId) == [m1.id, m2.id, m3.id])
            #expect(waiting.allSatisfy { $0.nextAttemptAt == now.addingTimeInterval(60) })
            // Another subscriber's claim does not take them.
            #expect(try await store.claimWebhookDeliveries(subscribers: ["other"], limit: 10, now: now.addingTimeInterval(60), lease: 30).isEmpty)
            let again = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now.addingTimeInterval(60), lease: 30)
            #expect(again.map(\.subjectId) == [m1.id])
            #expect(again[0].attempts == 2 && again[0].firstAttemptAt == now && again[0].lastError == "HTTP 503" && again[0].lastStatusCode == 503)

            try await store.recordWebhookAttempt(again[0], outcome: .failed(error: "gave up after 24 h", statusCode: 503), at: now)
            let failed = try await store.webhookDeliveries(state: .failed, limit: 10, before: nil).items
            #expect(failed.map(\.subjectId) == [m1.id] && failed[0].lastError == "gave up after 24 h")
            // Given up on: the contact's next event goes.
            #expect(try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now.addingTimeInterval(60), lease: 30).map(\.subjectId) == [m2.id])
            _ = m3

            guard case .queued(let replayed) = try await store.retryWebhookDelivery(id: failed[0].id, at: now.addingTimeInterval(120)) else {
                throw Unexpected()
            }
            #expect(replayed.state == .pending && replayed.firstAttemptAt == nil)
            #expect(try await store.retryWebhookDelivery(id: failed[0].id, at: now) == .alreadyPending)
            #expect(try await store.retryWebhookDelivery(id: 987_654, at: now) == .notFound)
            #expect(try await store.webhookDeliveries(state: .failed, limit: 10, before: nil).items.isEmpty)
        }
    }

    @Test("410 disables the subscriber: its pending deliveries fail and changes write none until a replay", arguments: StoreBackend.available)
    func goneDisables(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.syncWebhookSubscribers([
                WebhookSubscription(name: "old", url: "https://old.example", events: [.messageCreated]),
                WebhookSubscription(name: "crm", url: "https://crm.example", events: [.messageCreated]),
            ], at: now)
            _ = try stored(try await store.ingest(inbound("+15550000031", "SM-1"), at: now, bot: nil))
            _ = try stored(try await store.ingest(inbound("+15550000031", "SM-2"), at: now, bot: nil))
            let claimed = try await store.claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 10, now: now, lease: 30)
            let old = try #require(claimed.first { $0.subscriber == "old" })
            try await store.recordWebhookAttempt(old, outcome: .subscriberGone, at: now)
            let failed = try await store.webhookDeliveries(state: .failed, limit: 10, before: nil).items
            #expect(failed.count == 2 && failed.allSatisfy { $0.subscriber == "old" })
            #expect(failed.contains { $0.lastStatusCode == 410 })
            _ = try stored(try await store.ingest(inbound("+15550000031", "SM-3"), at: now, bot: nil))
            #expect(try await pending(store).allSatisfy { $0.subscriber == "crm" })
            #expect(try await pending(store).count == 3)
            // The same configuration again keeps it disabled; a new URL enables it.
            try await store.syncWebhookSubscribers([
                WebhookSubscription(name: "old", url: "https://old.example", events: [.messageCreated]),
                WebhookSubscription(name: "crm", url: "https://crm.example", events: [.messageCreated]),
            ], at: now)
            _ = try stored(try await store.ingest(inbound("+15550000031", "SM-4"), at: now, bot: nil))
            #expect(try await pending(store).allSatisfy { $0.subscriber == "crm" })
            // A replay enables it again.
            guard case .queued = try await store.retryWebhookDelivery(id: failed[0].id, at: now) else { throw Unexpected() }
            _ = try stored(try await store.ingest(inbound("+15550000031", "SM-5"), at: now, bot: nil))
            #expect(try await pending(store).filter { $0.subscriber == "old" }.count == 2)
        }
    }

    @Test("replaying a contact change while a newer one waits adds nothing", arguments: StoreBackend.available)
    func replayContactChange(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.syncWebhookSubscribers([WebhookSubscription(name: "crm", url: "https://crm.example", events: [.contactUpdated])], at: now)
            let message = try stored(try await store.ingest(inbound("+15550000041", "SM-1"), at: now, bot: nil))
            let first = try #require(try await store.claimWebhookDeliveries(subscribers: ["crm"], limit: 10, now: now, lease: 30).first)
            try await store.recordWebhookAttempt(first, outcome: .failed(error: "HTTP 400", statusCode: 400), at: now)
            _ = try await store.updateContact(id: message.contactId, patch: ContactPatch(name: "Lin"), at: now)
            #expect(try await store.retryWebhookDelivery(id: first.id, at: now) == .alreadyPending)
            #expect(try await pending(store).count == 1)
        }
    }

    @Test("stores on one database never claim the same delivery, nor two of one contact", arguments: StoreBackend.available)
    func sharedQueue(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            try await stores[0].syncWebhookSubscribers(
                [WebhookSubscription(name: "crm", url: "https://crm.example", events: [.messageCreated])], at: now)
            for index in 0..<40 {
                _ = try stored(try await stores[0].ingest(inbound("+155500001\(index % 8)", "SM-\(index)"), at: now, bot: nil))
            }
            var seen: [String: [Int64]] = [:]
            var rounds = 0
            while rounds < 20 {
                rounds += 1
                async let left = stores[0].claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 5, now: now, lease: 30)
                async let right = stores[1].claimWebhookDeliveries(subscribers: ["crm", "old", "status-only"], limit: 5, now: now, lease: 30)
                let (l, r) = try await (left, right)
                let batch = l + r
                if batch.isEmpty { break }
                // At most one in flight per contact.
                #expect(Set(batch.map(\.orderingKey)).count == batch.count)
                for delivery in batch { seen[delivery.orderingKey, default: []].append(delivery.id) }
                for delivery in l { try await stores[0].recordWebhookAttempt(delivery, outcome: .delivered(statusCode: 200), at: now) }
                for delivery in r { try await stores[1].recordWebhookAttempt(delivery, outcome: .delivered(statusCode: 200), at: now) }
            }
            #expect(seen.values.reduce(0) { $0 + $1.count } == 40)
            for (_, subjects) in seen { #expect(subjects == subjects.sorted()) }
        }
    }
}
