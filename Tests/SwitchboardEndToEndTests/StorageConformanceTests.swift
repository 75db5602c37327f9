import Foundation
import Logging
import SwitchboardCore
import SwitchboardStorage
import Testing

/// A storage backend the conformance suite runs against. Each test uses only the `MessageStore`
/// protocols, never SQL. PostgreSQL joins when `SWITCHBOARD_TEST_POSTGRES_URL` names a server
/// (the README's test command starts a throwaway one); `SWITCHBOARD_REQUIRE_POSTGRES=1` makes its
/// absence a failure, so CI cannot skip it silently.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The backends this run can reach.
    static var available: [StoreBackend] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// A fresh, empty store for one test; removed afterwards.
    func withStore(_ body: (any MessageStore) async throws -> Void) async throws {
        try await withStores(count: 1) { stores in try await body(stores[0]) }
    }

    /// `count` stores on one fresh database, as `count` gateway instances would open it (opened at
    /// once, so PostgreSQL's migration lock is exercised); all closed and removed afterwards.
    /// `pacing`: the deployment-wide paces PostgreSQL's stores apply (SQLite has none).
    func withStores(
        count: Int, pacing: [Channel: PostgresStore.SharedPace] = [:], _ body: ([any MessageStore]) async throws -> Void
    ) async throws {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-conformance-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("store.sqlite").path
            var stores: [any MessageStore] = []
            for _ in 0..<count { stores.append(try SQLiteStore(path: path)) }
            try await body(stores)
        case .postgres:
            guard let url = Self.postgresURL, case .postgres(let server) = try DatabaseLocation(parsing: url) else {
                throw StoreTestSetupError("SWITCHBOARD_TEST_POSTGRES_URL is not a postgres:// URL")
            }
            let logger = Logger(label: "conformance")
            let name = "conformance_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
            try await PostgresStore.administer(database: name, create: true, at: server, logger: logger)
            var location = server
            location.database = name
            let opened = location
            let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
                for _ in 0..<count { group.addTask { try await PostgresStore.open(opened, poolSize: 4, pacing: pacing, logger: logger) } }
                var stores: [any MessageStore] = []
                for try await store in group { stores.append(store) }
                return stores
            }
            var failure: (any Error)?
            do { try await body(stores) } catch { failure = error }
            for store in stores { await store.close() }
            try await PostgresStore.administer(database: name, create: false, at: server, logger: logger)
            if let failure { throw failure }
        }
    }
}

struct StoreTestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What every storage backend must do, tested through the protocols alone.
@Suite("Storage conformance")
struct StorageConformanceTests {
    /// Whole milliseconds, as stored.
    let now = Timestamp.date(millis: Timestamp.millis(Date()))

    func sms(_ id: String, from: String = "+15551230000", text: String = "hi") -> InboundMessage {
        InboundMessage(channel: .sms, senderAddress: from, providerMessageId: id, content: Content(text: text))
    }

    func stored(_ result: IngestResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> Message {
        guard case .stored(let message, _, _) = result else {
            Issue.record("expected a stored message, got \(result)", sourceLocation: sourceLocation)
            throw StoreTestFailure()
        }
        return message
    }

    struct StoreTestFailure: Error {}

    @Test("a provider id is stored once; a repeat is a duplicate naming the first message", arguments: StoreBackend.available)
    func deduplication(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let first = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil))
            #expect(try await store.ingest(sms("SM1", text: "again"), at: now, bot: nil) == .duplicate(messageId: first.id))
            // The same id on another channel is another message.
            let rcs = InboundMessage(channel: .rcs, senderAddress: "+15551230000", providerMessageId: "SM1", content: Content(text: "hi"))
            #expect(try stored(try await store.ingest(rcs, at: now, bot: nil)).id != first.id)
            #expect(try await store.messages(contactId: first.contactId, limit: 50, before: nil).items.count == 2)
        }
    }

    @Test("one contact per phone across SMS and RCS; a PSID is another contact", arguments: StoreBackend.available)
    func contactResolution(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let sms = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil))
            let rcs = InboundMessage(channel: .rcs, senderAddress: "+15551230000", providerMessageId: "r1", content: Content(text: "hi"))
            #expect(try stored(try await store.ingest(rcs, at: now, bot: nil)).contactId == sms.contactId)
            let messenger = InboundMessage(channel: .messenger, senderAddress: "PSID1", providerMessageId: "m_1", content: Content(text: "hi"))
            let other = try stored(try await store.ingest(messenger, at: now, bot: nil))
            #expect(other.contactId != sms.contactId)
            let contact = try #require(try await store.contact(id: sms.contactId))
            #expect(contact.phone == "+15551230000")
            #expect(Set(contact.channels.map(\.channel)) == [.sms, .rcs])
            #expect(try await store.contactId(channel: .messenger, address: "PSID1") == other.contactId)
        }
    }

    @Test("statuses only move forward; failed is final; a report before the send's answer is applied when it is recorded", arguments: StoreBackend.available)
    func statuses(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let inbound = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil))
            let reply = try await store.enqueueOutbound(
                contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "hello"),
                author: .init(kind: .agent), at: now)
            _ = try await store.recordDelivery(messageId: reply.id, result: .sent(providerMessageId: "SMout1"), at: now)
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMout1", status: .delivered), at: now)?.status == .delivered)
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMout1", status: .sent), at: now) == nil)
            #expect(try await store.applyStatus(
                StatusUpdate(channel: .sms, providerMessageId: "SMout1", status: .failed, error: .init(code: "x", message: "late")), at: now) == nil)
            #expect(try await store.message(id: reply.id)?.status == .delivered)
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMout1", status: .read), at: now)?.status == .read)

            // Early: the callback arrives before the send's answer is recorded.
            let second = try await store.enqueueOutbound(
                contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "again"),
                author: .init(kind: .agent), at: now)
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMout2", status: .delivered), at: now) == nil)
            let recorded = try await store.recordDelivery(messageId: second.id, result: .sent(providerMessageId: "SMout2"), at: now)
            #expect(recorded?.status == .delivered)
            #expect(try await store.outboundMessageId(channel: .sms, providerMessageId: "SMout2") == second.id)
        }
    }

    @Test("the outbox: claimed rows are leased, retried when due, and failures are listed", arguments: StoreBackend.available)
    func outbox(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let inbound = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil))
            let reply = try await store.enqueueOutbound(
                contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "hello"),
                author: .init(kind: .agent), at: now)
            let claimed = try await store.claimDueOutbox(limit: 10, now: now, lease: 60)
            #expect(claimed.map(\.messageId) == [reply.id])
            #expect(claimed.first?.previousAttempts == 0)
            #expect(try await store.claimDueOutbox(limit: 10, now: now, lease: 60).isEmpty)
            #expect(try await store.message(id: reply.id)?.status == .sending)
            _ = try await store.recordDelivery(
                messageId: reply.id, result: .retry(.init(code: "twilio_http_503", message: "busy"), notBefore: now.addingTimeInterval(10)), at: now)
            #expect(try await store.claimDueOutbox(limit: 10, now: now.addingTimeInterval(5), lease: 60).isEmpty)
            let again = try await store.claimDueOutbox(limit: 10, now: now.addingTimeInterval(11), lease: 60)
            #expect(again.map(\.previousAttempts) == [1])
            _ = try await store.recordDelivery(
                messageId: reply.id, result: .failed(.init(code: "twilio_21211", message: "invalid To"), unsubscribed: false), at: now)
            let failed = try await store.messages(status: .failed, limit: 10, before: nil)
            #expect(failed.items.map(\.id) == [reply.id])
            #expect(failed.items.first?.error?.code == "twilio_21211")
            #expect(try await store.claimDueOutbox(limit: 10, now: now.addingTimeInterval(3600), lease: 60).isEmpty)
            // A lease that ends makes the row due again (a worker died mid-send).
            let other = try await store.enqueueOutbound(
                contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "two"),
                author: .init(kind: .agent), at: now)
            #expect(try await store.claimDueOutbox(limit: 10, now: now, lease: 30).map(\.messageId) == [other.id])
            #expect(try await store.claimDueOutbox(limit: 10, now: now.addingTimeInterval(31), lease: 30).map(\.messageId) == [other.id])
        }
    }

    @Test("a claim takes at most a channel's limit of it, and the other channels' rows beside", arguments: StoreBackend.available)
    func channelLimits(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let inbound = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil))
            var queued: [String] = []
            for text in ["one", "two", "three"] {
                queued.append(try await store.enqueueOutbound(
                    contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: text),
                    author: .init(kind: .agent), at: now).id)
            }
            let psid = try stored(try await store.ingest(
                InboundMessage(channel: .messenger, senderAddress: "PSID1", providerMessageId: "m_1", content: Content(text: "hi")), at: now, bot: nil))
            let messenger = try await store.enqueueOutbound(
                contactId: psid.contactId, channel: .messenger, recipient: "PSID1", content: Content(text: "hello"), author: .init(kind: .agent), at: now)
            // A limit of 0 takes none of the channel, the others' rows still.
            let none = try await store.claimDueOutbox(limit: 10, channelLimits: [.sms: 0, .messenger: 0], now: now, lease: 60)
            #expect(none.isEmpty)
            let first = try await store.claimDueOutbox(limit: 10, channelLimits: [.sms: 2], now: now, lease: 60)
            // The SMS two of three, the oldest.
            #expect(Set(first.map(\.messageId)) == [queued[0], queued[1], messenger.id])
            #expect(Set(first.compactMap(\.content.text)) == ["one", "two", "hello"])
            #expect(first.allSatisfy { $0.subscribed && $0.previousAttempts == 0 && !$0.claimId.isEmpty })
            #expect(first.first { $0.channel == .sms }?.phone == "+15551230000")
            #expect(first.first { $0.channel == .messenger }?.recipient == "PSID1")
            #expect(try await store.claimDueOutbox(limit: 10, channelLimits: [.sms: 2], now: now, lease: 60).map(\.messageId) == [queued[2]])
        }
    }

    @Test("PostgreSQL: a paced channel's bucket is shared by every instance, and charged only for the rows claimed",
          arguments: StoreBackend.available.filter { $0 == .postgres })
    func sharedPacing(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2, pacing: [.sms: .init(perSecond: 10, burst: 3)]) { stores in
            let (a, b) = (stores[0], stores[1])
            let inbound = try stored(try await a.ingest(sms("SM1"), at: now, bot: nil))
            for index in 0..<6 {
                _ = try await a.enqueueOutbound(
                    contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "\(index)"),
                    author: .init(kind: .agent), at: now)
            }
            func claim(_ store: any MessageStore, after seconds: Double) async throws -> Int {
                try await store.claimDueOutbox(limit: 10, channelLimits: [.sms: 10], now: now.addingTimeInterval(seconds), lease: 600).count
            }
            #expect(try await claim(a, after: 0) == 3) // the burst
            #expect(try await claim(b, after: 0) == 0) // the same bucket, on the other instance
            // 10/s: one token (and a half) in 0.15 s. (Not 0.1 s: a Date 0.1 s later may be 99 ms
            // later in whole milliseconds, 0.99 of a token.)
            #expect(try await claim(b, after: 0.15) == 1)
            #expect(try await claim(a, after: 0.15) == 0)
            // 0.35 s later the bucket is full again (its burst, 3) and two rows are left: it keeps
            // the token it did not use, for the next row.
            #expect(try await claim(a, after: 0.5) == 2)
            let c = try await b.enqueueOutbound(
                contactId: inbound.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "late"),
                author: .init(kind: .agent), at: now)
            #expect(try await b.claimDueOutbox(limit: 10, channelLimits: [.sms: 10], now: now.addingTimeInterval(0.5), lease: 600).map(\.messageId) == [c.id])
        }
    }

    @Test("SMS keywords change subscriptions in the ingest transaction, and replies to the unsubscribed are not queued", arguments: StoreBackend.available)
    func keywords(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let policy = InboundPolicy(stopConfirmation: "bye", startConfirmation: "welcome back")
            guard case .stored(let stop, _, let stopReplies) = try await store.ingest(sms("SM1", text: "STOP"), at: now, bot: EchoBot(), policy: policy) else {
                Issue.record("not stored")
                return
            }
            #expect(stopReplies.map(\.content.text) == ["bye"])
            #expect(try await store.contact(id: stop.contactId)?.subscriptions["sms"] == false)
            guard case .stored(_, _, let replies) = try await store.ingest(sms("SM2", text: "hello?"), at: now, bot: EchoBot(), policy: policy) else {
                Issue.record("not stored")
                return
            }
            #expect(replies.isEmpty)
            guard case .stored(_, _, let startReplies) = try await store.ingest(sms("SM3", text: "start"), at: now, bot: EchoBot(), policy: policy) else {
                Issue.record("not stored")
                return
            }
            #expect(startReplies.map(\.content.text) == ["welcome back"])
            #expect(try await store.contact(id: stop.contactId)?.subscriptions["sms"] == true)
        }
    }

    @Test("the external bot's queue: claimed once, leased, its answer applied in one transaction", arguments: StoreBackend.available)
    func botDeliveries(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let message = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil, policy: InboundPolicy(remoteBot: true)))
            let deliveries = try await store.claimBotDeliveries(limit: 10, now: now, lease: 60)
            #expect(deliveries.map(\.message.id) == [message.id])
            #expect(try await store.claimBotDeliveries(limit: 10, now: now, lease: 60).isEmpty)
            let turn = BotTurn(replies: [Content(text: "from the bot")], effects: [.addTag("bot-seen"), .setAttribute(name: "intent", value: "greeting")])
            let replies = try await store.completeBotDelivery(try #require(deliveries.first), turn: turn, at: now)
            #expect(replies.map(\.content.text) == ["from the bot"])
            let contact = try #require(try await store.contact(id: message.contactId))
            #expect(contact.tags == ["bot-seen"])
            #expect(contact.attributes["intent"] == "greeting")
            #expect(try await store.claimBotDeliveries(limit: 10, now: now.addingTimeInterval(3600), lease: 60).isEmpty)
            // Given up: the delivery goes, the message stays.
            let second = try stored(try await store.ingest(sms("SM2"), at: now, bot: nil, policy: InboundPolicy(remoteBot: true)))
            try await store.retryBotDelivery(messageId: second.id, claimId: nil, notBefore: nil, error: "no answer")
            #expect(try await store.claimBotDeliveries(limit: 10, now: now.addingTimeInterval(3600), lease: 60).isEmpty)
            #expect(try await store.message(id: second.id) != nil)
        }
    }

    @Test("tags, attributes and subscriptions of the panel", arguments: StoreBackend.available)
    func panel(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let id = try stored(try await store.ingest(sms("SM1"), at: now, bot: nil)).contactId
            #expect(try await store.createTag("vip", at: now))
            #expect(try await store.createTag("vip", at: now) == false)
            _ = try await store.assignTag(contactId: id, tag: "vip", at: now)
            _ = try await store.assignTag(contactId: id, tag: "new-tag", at: now)
            #expect(try await store.tags().contains { $0.name == "new-tag" && $0.contactCount == 1 })
            _ = try await store.setAttribute(contactId: id, name: "order_id", value: "A-1001", at: now)
            _ = try await store.setSubscription(contactId: id, channel: .sms, subscribed: false, at: now)
            var contact = try #require(try await store.contact(id: id))
            #expect(contact.tags.sorted() == ["new-tag", "vip"])
            #expect(contact.attributes == ["order_id": "A-1001"])
            #expect(contact.subscriptions["sms"] == false)
            #expect(try await store.deleteTag("vip"))
            _ = try await store.unassignTag(contactId: id, tag: "new-tag")
            _ = try await store.setAttribute(contactId: id, name: "order_id", value: nil, at: now)
            contact = try #require(try await store.contact(id: id))
            #expect(contact.tags.isEmpty)
            #expect(contact.attributes.isEmpty)
            let patched = try await store.updateContact(id: id, patch: ContactPatch(name: .some("Ada Lovelace"), botEnabled: false), at: now)
            #expect(patched?.name == "Ada Lovelace")
            #expect(patched?.botEnabled == false)
            #expect(try await store.updateContact(id: "ct_missing", patch: ContactPatch(name: .some("x")), at: now) == nil)
        }
    }

    @Test("contacts and trails page with cursors, newest activity first and oldest first within a page", arguments: StoreBackend.available)
    func paging(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var contactIds: [String] = []
            for index in 0..<5 {
                let at = now.addingTimeInterval(Double(index))
                contactIds.append(try stored(try await store.ingest(sms("SM\(index)", from: "+1555123000\(index)"), at: at, bot: nil)).contactId)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.contacts(limit: 2, cursor: cursor)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == contactIds.reversed())
            for index in 0..<4 {
                _ = try await store.ingest(sms("SMt\(index)", from: "+15551230000", text: "t\(index)"), at: now.addingTimeInterval(10 + Double(index)), bot: nil)
            }
            let first = try await store.messages(contactId: contactIds[0], limit: 2, before: nil)
            #expect(first.items.map(\.content.text) == ["t2", "t3"])
            let second = try await store.messages(contactId: contactIds[0], limit: 2, before: first.nextCursor)
            #expect(second.items.map(\.content.text) == ["t0", "t1"])
            #expect(try await store.messages(contactId: contactIds[0], after: first.items[0].id, limit: 10).map(\.content.text) == ["t3"])
            await #expect(throws: (any Error).self) { _ = try await store.contacts(limit: 2, cursor: "not a cursor") }
        }
    }

    @Test("search by name, phone and attribute value; filters by tag and channel", arguments: StoreBackend.available)
    func search(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let ada = try stored(try await store.ingest(sms("SM1", from: "+15551230001"), at: now, bot: nil)).contactId
            let grace = try stored(try await store.ingest(sms("SM2", from: "+15551230002"), at: now, bot: nil)).contactId
            let messenger = InboundMessage(channel: .messenger, senderAddress: "PSID9", providerMessageId: "m_9", content: Content(text: "hi"))
            let psid = try stored(try await store.ingest(messenger, at: now, bot: nil)).contactId
            _ = try await store.updateContact(id: ada, patch: ContactPatch(name: .some("Ada Lovelace")), at: now)
            _ = try await store.setAttribute(contactId: grace, name: "order_id", value: "A-7731", at: now)
            _ = try await store.assignTag(contactId: psid, tag: "vip", at: now)
            func ids(_ filter: ContactFilter) async throws -> Set<String> {
                Set(try await store.contacts(filter, limit: 50, cursor: nil).items.map(\.id))
            }
            #expect(try await ids(ContactFilter(query: "lovelace")) == [ada])
            #expect(try await ids(ContactFilter(query: "230002")) == [grace])
            #expect(try await ids(ContactFilter(query: "A-7731")) == [grace])
            #expect(try await ids(ContactFilter(query: "100%_")) == [])
            // Without case, two characters (too short for trigrams), and kept current by edits.
            #expect(try await ids(ContactFilter(query: "LOVE")) == [ada])
            #expect(try await ids(ContactFilter(query: "Ad")) == [ada])
            #expect(try await ids(ContactFilter(query: "order_id")) == [], "attribute names are not searched, values are")
            _ = try await store.setAttribute(contactId: grace, name: "order_id", value: "B-1", at: now)
            #expect(try await ids(ContactFilter(query: "A-7731")) == [])
            _ = try await store.updateContact(id: ada, patch: ContactPatch(name: .some("Ada Byron")), at: now)
            #expect(try await ids(ContactFilter(query: "lovelace")) == [])
            #expect(try await ids(ContactFilter(query: "byron")) == [ada])
            #expect(try await ids(ContactFilter(tag: "vip")) == [psid])
            #expect(try await ids(ContactFilter(channel: .messenger)) == [psid])
        }
    }

    @Test("a merge moves channels, messages and tags, fills missing attributes, and removes the source", arguments: StoreBackend.available)
    func merge(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let messenger = InboundMessage(channel: .messenger, senderAddress: "PSID1", providerMessageId: "m_1", content: Content(text: "hi"))
            let target = try stored(try await store.ingest(messenger, at: now, bot: nil)).contactId
            let webchat = InboundMessage(channel: .webchat, senderAddress: "v_1", providerMessageId: "w_1", content: Content(text: "hello"))
            let source = try stored(try await store.ingest(webchat, at: now, bot: nil)).contactId
            _ = try await store.assignTag(contactId: source, tag: "web", at: now)
            _ = try await store.setAttribute(contactId: source, name: "plan", value: "gold", at: now)
            _ = try await store.setAttribute(contactId: target, name: "plan", value: "silver", at: now)
            _ = try await store.setAttribute(contactId: source, name: "city", value: "London", at: now)
            let merged = try #require(try await store.mergeContact(source, into: target, at: now))
            #expect(Set(merged.channels.map(\.channel)) == [.messenger, .webchat])
            #expect(merged.tags == ["web"])
            #expect(merged.attributes == ["plan": "silver", "city": "London"])
            #expect(try await store.contact(id: source) == nil)
            #expect(try await store.messages(contactId: target, limit: 10, before: nil).items.count == 2)
            #expect(try await store.contactId(channel: .webchat, address: "v_1") == target)
        }
    }

    @Test("capabilities and secrets are kept", arguments: StoreBackend.available)
    func capabilitiesAndSecrets(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let record = RCSCapabilityRecord(phone: "+15551230000", capable: true, features: ["RICHCARD_STANDALONE"], checkedAt: now, source: "lookup")
            try await store.saveRCSCapability(record)
            #expect(try await store.rcsCapability(phone: "+15551230000") == record)
            #expect(try await store.rcsCapability(phone: "+15550000000") == nil)
            let secret = try await store.secret(named: "k") { "first" }
            #expect(secret == "first")
            #expect(try await store.secret(named: "k") { "second" } == "first")
            try await store.checkReadiness()
        }
    }

    @Test("PostgreSQL is tested when the run requires it")
    func postgresIsReachableWhenRequired() {
        if ProcessInfo.processInfo.environment["SWITCHBOARD_REQUIRE_POSTGRES"] == "1" {
            #expect(StoreBackend.available.contains(.postgres), "SWITCHBOARD_TEST_POSTGRES_URL is not set: the PostgreSQL backend was not tested")
        }
    }

    @Test("instances opening one database at once migrate it once; each sees the others' writes", arguments: StoreBackend.available)
    func instancesShareOneDatabase(backend: StoreBackend) async throws {
        try await backend.withStores(count: 3) { stores in
            let migrations = try await stores[0].appliedMigrations()
            #expect(migrations.first == "v1-walking-skeleton")
            #expect(migrations.contains("v10-claim-ids"))
            for store in stores.dropFirst() { #expect(try await store.appliedMigrations() == migrations) }
            let message = try stored(try await stores[0].ingest(sms("SM1"), at: now, bot: nil))
            #expect(try await stores[1].message(id: message.id)?.content.text == "hi")
            let secrets = try await withThrowingTaskGroup(of: String.self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask { try await store.secret(named: "webchat-token-key") { "candidate-\(index)" } }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(secrets.count == 1)
        }
    }

    @Test("a provider retry reaching another instance at the same moment is stored once", arguments: StoreBackend.available)
    func concurrentDuplicatesAcrossInstances(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            let now = now
            for round in 0..<20 {
                // SMS and RCS of one new phone at once, each provider id delivered to both instances.
                let results = try await withThrowingTaskGroup(of: IngestResult.self) { group in
                    for store in stores {
                        for channel in [Channel.sms, .rcs] {
                            let inbound = InboundMessage(
                                channel: channel, senderAddress: "+1555999\(String(format: "%04d", round))",
                                providerMessageId: "P\(round)", content: Content(text: "hi"))
                            group.addTask { try await store.ingest(inbound, at: now, bot: nil) }
                        }
                    }
                    return try await group.reduce(into: [IngestResult]()) { $0.append($1) }
                }
                let stored = results.compactMap { result -> Message? in
                    if case .stored(let message, _, _) = result { return message }
                    return nil
                }
                #expect(stored.count == 2, "round \(round): one message per channel")
                #expect(Set(stored.map(\.contactId)).count == 1, "round \(round): one contact for the phone")
                let storedIds = Set(stored.map(\.id))
                for case .duplicate(let first) in results { #expect(storedIds.contains(first)) }
            }
        }
    }

    @Test("two instances claiming at once get disjoint rows; a stale claim cannot record an outcome", arguments: StoreBackend.available)
    func claimsAcrossInstances(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            let inbound = try stored(try await stores[0].ingest(sms("SM1"), at: now, bot: nil))
            var queued: Set<String> = []
            for index in 0..<60 {
                queued.insert(try await stores[index % 2].enqueueOutbound(
                    contactId: inbound.contactId, channel: .messenger, recipient: "PSID1", content: Content(text: "m\(index)"),
                    author: .init(kind: .agent), at: now).id)
            }
            let now = now
            let claims = try await withThrowingTaskGroup(of: [OutboxItem].self) { group in
                for store in stores {
                    for _ in 0..<3 { group.addTask { try await store.claimDueOutbox(limit: 15, now: now, lease: 30) } }
                }
                return try await group.reduce(into: [[OutboxItem]]()) { $0.append($1) }
            }
            let claimedIds = claims.flatMap { $0.map(\.messageId) }
            #expect(claimedIds.count == Set(claimedIds).count, "no row claimed twice")
            #expect(Set(claimedIds).isSubset(of: queued))
            #expect(claimedIds.count == 60)

            // The lease ends; the other instance takes the row over; the first worker is stale.
            let first = try #require(claims.first { !$0.isEmpty }?.first)
            let takeover = try await stores[1].claimDueOutbox(limit: 100, now: now.addingTimeInterval(31), lease: 30)
            let taken = try #require(takeover.first { $0.messageId == first.messageId })
            #expect(taken.claimId != first.claimId)
            await #expect(throws: StoreError.leaseLost(messageId: first.messageId)) {
                _ = try await stores[0].recordDelivery(
                    messageId: first.messageId, claimId: first.claimId, result: .sent(providerMessageId: "stale"), at: now, returning: true)
            }
            #expect(try await stores[0].message(id: first.messageId)?.providerMessageId == nil)
            let recorded = try await stores[0].recordDelivery(
                messageId: taken.messageId, claimId: taken.claimId, result: .sent(providerMessageId: "mid.1"), at: now, returning: true)
            #expect(recorded?.status == .sent)
            // The takeover knows an earlier attempt may have reached the provider.
            #expect(taken.outcomeUnknownSince != nil)
        }
    }

    @Test("a stale bot-delivery claim cannot complete the delivery", arguments: StoreBackend.available)
    func staleBotDelivery(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            let message = try stored(try await stores[0].ingest(sms("SM1"), at: now, bot: nil, policy: InboundPolicy(remoteBot: true)))
            let stale = try #require(try await stores[0].claimBotDeliveries(limit: 10, now: now, lease: 10).first)
            let fresh = try #require(try await stores[1].claimBotDeliveries(limit: 10, now: now.addingTimeInterval(11), lease: 10).first)
            #expect(fresh.message.id == message.id)
            await #expect(throws: StoreError.leaseLost(messageId: message.id)) {
                _ = try await stores[0].completeBotDelivery(stale, turn: BotTurn(replies: [Content(text: "twice")]), at: now)
            }
            let replies = try await stores[1].completeBotDelivery(fresh, turn: BotTurn(replies: [Content(text: "once")]), at: now)
            #expect(replies.map(\.content.text) == ["once"])
        }
    }

    @Test("two instances taking one contact's messages at once run its bot turns one after another", arguments: StoreBackend.available)
    func concurrentBotTurnsAcrossInstances(backend: StoreBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            let now = now
            // The contact exists first: every message below is a turn on the same saved state.
            _ = try stored(try await stores[0].ingest(sms("SM-first"), at: now, bot: CountingBot()))
            let results = try await withThrowingTaskGroup(of: IngestResult.self) { group in
                for index in 0..<40 {
                    let store = stores[index % 2]
                    let inbound = sms("SM\(index)", text: "m\(index)")
                    group.addTask { try await store.ingest(inbound, at: now, bot: CountingBot()) }
                }
                return try await group.reduce(into: [IngestResult]()) { $0.append($1) }
            }
            var counts: [Int] = []
            for result in results {
                guard case .stored(_, _, let replies) = result else {
                    Issue.record("expected a stored message, got \(result)")
                    continue
                }
                #expect(replies.count == 1)
                counts += replies.compactMap { $0.content.text.flatMap { Int($0.dropFirst("message ".count)) } }
            }
            // Two turns that read the same state would give the same count, and one would be lost.
            #expect(counts.sorted() == Array(2...41))
        }
    }
}

/// Counts a contact's messages in its saved state and says the count: turns that overlapped
/// would read the same state and answer the same number.
struct CountingBot: Bot {
    func respond(to input: BotInput) -> BotTurn {
        let count = (input.state.flatMap { Int($0) } ?? 0) + 1
        return BotTurn(replies: [Content(text: "message \(count)")], state: String(count))
    }
}
