import Foundation
import GRDB
import SwitchboardCore
import SwitchboardStorage
import Testing

/// The store on a real SQLite file.
@Suite("SQLite store")
struct SQLiteStoreTests {
    func withDatabase(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(directory.appendingPathComponent("store.sqlite").path)
    }

    func inbound(_ id: String, from: String = "+15551230000", text: String = "hi") -> InboundMessage {
        InboundMessage(channel: .sms, senderAddress: from, providerMessageId: id, content: Content(text: text))
    }

    @Test("event-webhook triggers, message.reaction's among them, exist only while a subscriber is configured")
    func webhookTriggers() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path, indexesSearchInBackground: false)
            func triggers() async throws -> Set<String> {
                Set(try await store.pool.read { db in
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'webhook\\_%' ESCAPE '\\'")
                })
            }
            #expect(try await triggers().isEmpty)
            // A database migrated before reactions joined the others has their trigger: a
            // gateway's start (which names its subscribers, none here) removes it.
            try await store.pool.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER webhook_message_reaction AFTER UPDATE OF reaction_emoji ON messages BEGIN SELECT 1; END
                    """)
            }
            #expect(try await triggers() == ["webhook_message_reaction"])
            try await store.syncWebhookSubscribers([], at: Date())
            #expect(try await triggers().isEmpty)
            try await store.syncWebhookSubscribers(
                [WebhookSubscription(name: "crm", url: "https://crm.example/hooks", events: [.messageReaction])], at: Date())
            let made = try await triggers()
            #expect(made.contains("webhook_message_reaction") && made.contains("webhook_message_created") && made.count == 12)
            try await store.syncWebhookSubscribers([], at: Date())
            #expect(try await triggers().isEmpty)
        }
    }

    @Test("search finds contacts through the trigram index once indexed, and through the pending rows before; edits never show stale")
    func searchIndexing() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path, indexesSearchInBackground: false)
            let now = Date()
            var ids: [String] = []
            for index in 0..<30 {
                guard case .stored(let message, _, _) = try await store.ingest(inbound("SM\(index)", from: "+1555123\(String(format: "%04d", index))"), at: now, bot: nil)
                else { Issue.record("not stored"); return }
                ids.append(message.contactId)
            }
            _ = try await store.updateContact(id: ids[7], patch: ContactPatch(name: .some("Grace Hopper")), at: now)
            func found(_ query: String) async throws -> [String] {
                try await store.contacts(ContactFilter(query: query), limit: 50, cursor: nil).items.map(\.id)
            }
            func pending() async throws -> Int {
                try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact_search_pending") ?? -1 }
            }
            #expect(try await pending() == 30)
            #expect(try await found("hopper") == [ids[7]])
            #expect(try await store.indexPendingContacts() == 30)
            #expect(try await pending() == 0)
            // Indexed now: the trigram index answers.
            #expect(try await found("hopper") == [ids[7]])
            #expect(try await found("1230012") == [ids[12]])
            #expect(try await found("Gr") == [ids[7]])
            // An edit is pending again: the old name no longer matches, the new one does.
            _ = try await store.updateContact(id: ids[7], patch: ContactPatch(name: .some("Ada King")), at: now)
            #expect(try await pending() == 1)
            #expect(try await found("hopper").isEmpty)
            #expect(try await found("ada k") == [ids[7]])
            #expect(try await store.indexPendingContacts() == 1)
            #expect(try await found("hopper").isEmpty)
            #expect(try await found("ada k") == [ids[7]])
            // A merged-away contact leaves the index.
            _ = try await store.mergeContact(ids[7], into: ids[8], at: now)
            #expect(try await store.indexPendingContacts() == 1)
            #expect(try await found("ada k") == [ids[8]])
            // The contacts' implicit rowids may be renumbered (SQLite documents that VACUUM may do it
            // for a table without an INTEGER PRIMARY KEY): the index is keyed by contact, not by them.
            try await store.pool.write { db in try db.execute(sql: "UPDATE contacts SET rowid = rowid + 100000") }
            try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
            #expect(try await pending() == 0)
            #expect(try await found("1230012") == [ids[12]])
            #expect(try await found("ada k") == [ids[8]])
        }
    }

    @Test("the file is in WAL mode with synchronous=FULL, and migrations are recorded")
    func durability() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path)
            let (journal, synchronous) = try await store.pool.read { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
            }
            #expect(journal == "wal")
            #expect(synchronous == 2)
            let applied = try await store.appliedMigrations()
            #expect(applied.first == "v1-walking-skeleton")
            #expect(applied.contains("v5-tags-and-bot-state"))
            // Opening again applies nothing new and loses nothing.
            #expect(try await SQLiteStore(path: path).appliedMigrations() == applied)
        }
    }

    @Test("an unknown outcome is kept on the outbox row across a restart, as is an attempt that never recorded one")
    func unknownOutcomesAreDurable() async throws {
        try await withDatabase { path in
            // Real time: ids carry their creation time, and the generator never goes back (other tests in this process check it).
            let start = Timestamp.date(millis: Timestamp.millis(Date()))
            let message: Message
            do {
                let store = try SQLiteStore(path: path)
                guard case .stored(let first, _, _) = try await store.ingest(inbound("SMin2"), at: start, bot: nil, policy: InboundPolicy()) else {
                    Issue.record("not stored")
                    return
                }
                message = try await store.enqueueOutbound(
                    contactId: first.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "maybe"),
                    author: .init(kind: .agent), at: start)
                let claimed = try await store.claimDueOutbox(limit: 10, now: start, lease: 60)
                #expect(claimed.map(\.outcomeUnknownSince) == [nil])
                // A failure before the request left says nothing was sent.
                _ = try await store.recordDelivery(
                    messageId: message.id, result: .retry(MessageError(code: "provider_unreachable", message: "refused"), notBefore: start), at: start)
                #expect(try await store.claimDueOutbox(limit: 10, now: start.addingTimeInterval(1), lease: 60).map(\.outcomeUnknownSince) == [nil])
                _ = try await store.recordDelivery(
                    messageId: message.id,
                    result: .outcomeUnknown(MessageError(code: "provider_outcome_unknown", message: "timeout"), notBefore: start.addingTimeInterval(2),
                                            attemptStartedAt: start.addingTimeInterval(1)),
                    at: start.addingTimeInterval(1.5))
            }
            // A new process on the same file knows.
            let store = try SQLiteStore(path: path)
            let again = try await store.claimDueOutbox(limit: 10, now: start.addingTimeInterval(3), lease: 60)
            #expect(again.map(\.outcomeUnknownSince) == [start.addingTimeInterval(1)])
            // A later retry (the resend was refused) keeps the earliest unknown attempt.
            _ = try await store.recordDelivery(
                messageId: message.id, result: .retry(MessageError(code: "twilio_http_503", message: "x"), notBefore: start.addingTimeInterval(4)),
                at: start.addingTimeInterval(3))
            #expect(try await store.claimDueOutbox(limit: 10, now: start.addingTimeInterval(5), lease: 60).map(\.outcomeUnknownSince)
                == [start.addingTimeInterval(1)])
        }
        try await withDatabase { path in
            // An attempt that never recorded its outcome (the process died mid-send) counts as unknown from its start.
            // Real time: ids carry their creation time, and the generator never goes back (other tests in this process check it).
            let start = Timestamp.date(millis: Timestamp.millis(Date()))
            let store = try SQLiteStore(path: path)
            guard case .stored(let first, _, _) = try await store.ingest(inbound("SMin3"), at: start, bot: nil, policy: InboundPolicy()) else {
                Issue.record("not stored")
                return
            }
            _ = try await store.enqueueOutbound(
                contactId: first.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "crash"),
                author: .init(kind: .agent), at: start)
            #expect(try await store.claimDueOutbox(limit: 10, now: start, lease: 60).map(\.outcomeUnknownSince) == [nil])
            #expect(try await store.claimDueOutbox(limit: 10, now: start.addingTimeInterval(61), lease: 60).map(\.outcomeUnknownSince) == [start])
        }
    }

    @Test("status callbacks that beat the send's answer are kept and applied when it is recorded")
    func earlyStatuses() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path)
            guard case .stored(let first, _, _) = try await store.ingest(inbound("SMin1"), at: Date(), bot: nil, policy: InboundPolicy()) else {
                Issue.record("not stored")
                return
            }
            let reply = try await store.enqueueOutbound(
                contactId: first.contactId, channel: .sms, recipient: "+15551230000", content: Content(text: "fast"),
                author: .init(kind: .agent), at: Date())
            // Twilio's `delivered` arrives first, then a duplicate `sent`; neither finds the message yet.
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMfast", status: .delivered), at: Date()) == nil)
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMfast", status: .sent), at: Date()) == nil)
            let recorded = try await store.recordDelivery(messageId: reply.id, result: .sent(providerMessageId: "SMfast"), at: Date())
            #expect(recorded?.status == .delivered)
            #expect(recorded?.providerMessageId == "SMfast")
            #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM early_statuses") } == 0)
            // Later callbacks apply as usual.
            #expect(try await store.applyStatus(StatusUpdate(channel: .sms, providerMessageId: "SMfast", status: .read), at: Date())?.status == .read)
        }
    }

    @Test("de-duplication holds across a restart")
    func dedupeAcrossRestart() async throws {
        try await withDatabase { path in
            let first = try SQLiteStore(path: path)
            guard case .stored(let message, _, _) = try await first.ingest(inbound("SMrestart"), at: Date(), bot: nil) else {
                Issue.record("first delivery should be stored")
                return
            }
            let reopened = try SQLiteStore(path: path)
            let again = try await reopened.ingest(inbound("SMrestart"), at: Date(), bot: EchoBot())
            #expect(again == .duplicate(messageId: message.id))
            let count = try await reopened.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") }
            #expect(count == 1)
        }
    }

    @Test("concurrent ingests share commits and every one is stored exactly once")
    func groupCommit() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path)
            try await withThrowingTaskGroup(of: IngestResult.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        try await store.ingest(self.inbound("SM\(index % 400)", from: "+1555123\(String(format: "%04d", index % 50))"), at: Date(), bot: EchoBot())
                    }
                }
                var stored = 0
                var duplicates = 0
                for try await result in group {
                    if case .stored = result { stored += 1 } else { duplicates += 1 }
                }
                #expect(stored == 400)
                #expect(duplicates == 100)
            }
            let (messages, contacts, outbox) = try await store.pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'"),
                 try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contacts"),
                 try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox"))
            }
            #expect(messages == 400)
            #expect(contacts == 50)
            #expect(outbox == 400)
        }
    }

    @Test("a failing write rolls back alone; the others in its batch commit")
    func savepointIsolation() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path)
            let writer = GroupCommitWriter(writer: store.pool)
            struct Refused: Error {}
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            try await writer.write { db in
                                try db.execute(sql: "INSERT INTO contacts (id, created_at, updated_at) VALUES (?, 0, 0)", arguments: ["ct_\(index)"])
                                if index % 5 == 0 { throw Refused() }
                            }
                            return true
                        } catch is Refused {
                            return false
                        }
                    }
                }
                var succeeded = 0
                for try await ok in group where ok { succeeded += 1 }
                #expect(succeeded == 40)
            }
            let ids = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM contacts") }
            #expect(ids.count == 40)
            #expect(!ids.contains("ct_0"))
        }
    }

    @Test("a search matching most contacts walks the activity order: same pages, newest first, as the sorted plan")
    func searchWalk() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path, indexesSearchInBackground: false)
            let start = Date()
            var ids: [String] = []
            for index in 0..<40 {
                guard case .stored(let message, _, _) = try await store.ingest(
                    inbound("SMw\(index)", from: "+1555666\(String(format: "%04d", index))"), at: start.addingTimeInterval(Double(index)), bot: nil)
                else { Issue.record("not stored"); return }
                ids.append(message.contactId)
                _ = try await store.updateContact(id: message.contactId, patch: ContactPatch(name: .some("Grace \(index)")), at: start)
            }
            try await store.indexPendingContacts()
            // 40 matches among 40 contacts, pages of 7: the walk is chosen (WalkOrSort).
            #expect(WalkOrSort.walks(matches: 40, limit: 8, contacts: 40))
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.contacts(ContactFilter(query: "grace"), limit: 7, cursor: cursor)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ids.reversed())
        }
    }

    @Test("the writer reports how long it has been quiet; background upkeep does not count as activity")
    func writerQuiet() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path, indexesSearchInBackground: false)
            let writer = GroupCommitWriter(writer: store.pool)
            // Bounds that hold however long the machine takes between two lines: quiet never
            // exceeds the time since the last activity started.
            var started = ContinuousClock.now
            try await writer.write { db in try db.execute(sql: "INSERT INTO contacts (id, created_at, updated_at) VALUES ('ct_a', 0, 0)") }
            #expect(writer.quietFor <= ContinuousClock.now - started)
            try await Task.sleep(for: .milliseconds(300))
            #expect(writer.quietFor >= .milliseconds(300))
            try await writer.write(isActivity: false) { db in try db.execute(sql: "UPDATE contacts SET name = 'x' WHERE id = 'ct_a'") }
            #expect(writer.quietFor >= .milliseconds(300))
            started = ContinuousClock.now
            try await writer.write { db in try db.execute(sql: "UPDATE contacts SET name = 'y' WHERE id = 'ct_a'") }
            #expect(writer.quietFor <= ContinuousClock.now - started)
        }
    }

    @Test("the background indexer indexes new contacts once webhooks pause")
    func backgroundIndexing() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path)
            for index in 0..<20 {
                _ = try await store.ingest(inbound("SMq\(index)", from: "+1555777\(String(format: "%04d", index))"), at: Date(), bot: nil)
            }
            try await eventually("the pending contacts are indexed") {
                try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact_search_pending") } == 0
            }
            let indexed = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact_search") }
            #expect(indexed == 20)
            #expect(try await store.contacts(ContactFilter(query: "5557770013"), limit: 5, cursor: nil).items.count == 1)
        }
    }

    @Test("claimed rows are leased: not claimed again until the lease ends")
    func outboxLease() async throws {
        try await withDatabase { path in
            let store = try SQLiteStore(path: path)
            let now = Date()
            _ = try await store.ingest(inbound("SMlease"), at: now, bot: EchoBot())
            let claimed = try await store.claimDueOutbox(limit: 10, now: now, lease: 30)
            #expect(claimed.count == 1)
            #expect(claimed.first?.content.text == "You said: hi")
            #expect(claimed.first?.previousAttempts == 0)
            #expect(try await store.claimDueOutbox(limit: 10, now: now.addingTimeInterval(29), lease: 30).isEmpty)
            let reclaimed = try await store.claimDueOutbox(limit: 10, now: now.addingTimeInterval(31), lease: 30)
            #expect(reclaimed.first?.previousAttempts == 1)
            let message = try #require(reclaimed.first)
            let failed = try await store.recordDelivery(
                messageId: message.messageId,
                result: .failed(MessageError(code: "twilio_21610", message: "unsubscribed"), unsubscribed: true), at: now)
            #expect(failed?.status == .failed)
            let contact = try #require(try await store.contact(id: message.contactId))
            #expect(contact.subscriptions["sms"] == false)
            // An unsubscribed contact gets no bot reply.
            guard case .stored(_, _, let replies) = try await store.ingest(inbound("SMlease2"), at: now, bot: EchoBot()) else {
                Issue.record("expected stored")
                return
            }
            #expect(replies.isEmpty)
        }
    }
}
