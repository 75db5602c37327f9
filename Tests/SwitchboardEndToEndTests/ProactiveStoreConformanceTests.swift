import Foundation
import SwitchboardCore
import SwitchboardStorage
import Testing

/// Proactive sends on every backend: the contact found or created by address, idempotency keys
/// remembered for their window, once across stores on one database.
@Suite("Storage conformance: proactive sends")
struct ProactiveStoreConformanceTests {
    let now = Timestamp.date(millis: Timestamp.millis(Date()))

    func send(_ channel: Channel = .sms, to address: String = "+15551230000", text: String = "Your order shipped") -> ProactiveSend {
        ProactiveSend(channel: channel, address: address, content: Content(text: text), author: .init(kind: .system, name: "orders"))
    }

    func claim(_ key: String, hash: String = "h1", at now: Date) -> IdempotencyClaim {
        IdempotencyClaim(key: key, requestHash: hash, since: now.addingTimeInterval(-86_400))
    }

    struct Unexpected: Error {}

    func queued(_ result: ProactiveSendResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> (Message, Bool) {
        guard case .queued(let message, let created) = result else {
            Issue.record("expected a queued message, got \(result)", sourceLocation: sourceLocation)
            throw Unexpected()
        }
        return (message, created)
    }

    @Test("a new address makes a contact; the same phone on RCS, or an inbound SMS, meets it", arguments: StoreBackend.available)
    func contacts(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (first, created) = try queued(try await store.enqueueProactive(send(), idempotency: nil, at: now))
            #expect(created)
            #expect(first.status == .queued && first.direction == .outbound && first.author.kind == .system)
            let (again, createdAgain) = try queued(try await store.enqueueProactive(send(text: "Delivered"), idempotency: nil, at: now))
            #expect(!createdAgain && again.contactId == first.contactId)
            let (rcs, createdRCS) = try queued(try await store.enqueueProactive(send(.rcs), idempotency: nil, at: now))
            #expect(!createdRCS && rcs.contactId == first.contactId)
            let inbound = InboundMessage(channel: .sms, senderAddress: "+15551230000", providerMessageId: "SM1", content: Content(text: "thanks"))
            guard case .stored(let reply, _, _) = try await store.ingest(inbound, at: now, bot: nil) else { throw Unexpected() }
            #expect(reply.contactId == first.contactId)
            let contact = try #require(try await store.contact(id: first.contactId))
            #expect(contact.phone == "+15551230000")
            #expect(Set(contact.channels.map(\.channel)) == [.sms, .rcs])
            // Queued for sending, in the trail.
            #expect(try await store.messages(contactId: first.contactId, limit: 10, before: nil).items.count == 4)
            let due = try await store.claimDueOutbox(limit: 10, now: now, lease: 30)
            #expect(Set(due.map(\.messageId)) == [first.id, again.id, rcs.id])
            #expect(due.first { $0.messageId == first.id }?.recipient == "+15551230000")
        }
    }

    @Test("a key returns its first send within the window; afterwards it may be used again", arguments: StoreBackend.available)
    func idempotency(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (first, _) = try queued(try await store.enqueueProactive(send(), idempotency: claim("k-1", at: now), at: now))
            let later = now.addingTimeInterval(3_600)
            #expect(try await store.enqueueProactive(send(), idempotency: claim("k-1", at: later), at: later)
                == .replayed(IdempotentSend(messageId: first.id, requestHash: "h1")))
            #expect(try await store.idempotentSend(key: "k-1", since: now) == IdempotentSend(messageId: first.id, requestHash: "h1"))
            #expect(try await store.idempotentSend(key: "k-2", since: now) == nil)
            // The same key with another body is the caller's to refuse: the store returns the first.
            #expect(try await store.enqueueProactive(send(text: "other"), idempotency: claim("k-1", hash: "h2", at: later), at: later)
                == .replayed(IdempotentSend(messageId: first.id, requestHash: "h1")))
            // Past 24 hours the key is free again.
            let dayAfter = now.addingTimeInterval(86_401)
            #expect(try await store.idempotentSend(key: "k-1", since: dayAfter.addingTimeInterval(-86_400)) == nil)
            let (second, _) = try queued(try await store.enqueueProactive(send(), idempotency: claim("k-1", at: dayAfter), at: dayAfter))
            #expect(second.id != first.id)
            #expect(try await store.messages(contactId: first.contactId, limit: 10, before: nil).items.count == 2)
        }
    }

    @Test("after STOP only the gateway's answers go out: a system message queued before it is held", arguments: StoreBackend.available)
    func unsubscribeHoldsQueuedSystemMessages(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let (reminder, _) = try queued(try await store.enqueueProactive(send(), idempotency: nil, at: now))
            let later = now.addingTimeInterval(5)
            let stop = InboundMessage(channel: .sms, senderAddress: "+15551230000", providerMessageId: "SM-STOP", content: Content(text: "STOP"))
            let policy = InboundPolicy(stopConfirmation: "You are unsubscribed.")
            guard case .stored(_, _, let confirmation) = try await store.ingest(stop, at: later, bot: nil, policy: policy) else { throw Unexpected() }
            #expect(confirmation.count == 1)
            let claimed = try await store.claimDueOutbox(limit: 10, now: later.addingTimeInterval(2), lease: 30)
            let mayGo = Dictionary(uniqueKeysWithValues: claimed.map { ($0.messageId, $0.subscribed) })
            #expect(mayGo[reminder.id] == false)
            #expect(mayGo[confirmation[0].id] == true)
        }
    }

    @Test("one key sent at once through two stores on one database queues one message", arguments: StoreBackend.available)
    func concurrentKey(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            let now = self.now
            let results = try await withThrowingTaskGroup(of: ProactiveSendResult.self) { group in
                for index in 0..<20 {
                    let store = stores[index % 2]
                    group.addTask { try await store.enqueueProactive(send(), idempotency: claim("k-race", at: now), at: now) }
                }
                return try await group.reduce(into: [ProactiveSendResult]()) { $0.append($1) }
            }
            let queued = results.compactMap { result -> Message? in
                if case .queued(let message, _) = result { return message }
                return nil
            }
            #expect(queued.count == 1)
            let replayedIds = Set(results.compactMap { result -> String? in
                if case .replayed(let first) = result { return first.messageId }
                return nil
            })
            #expect(replayedIds == Set(queued.map(\.id)))
            #expect(try await stores[0].claimDueOutbox(limit: 50, now: now, lease: 30).count == 1)
        }
    }
}
