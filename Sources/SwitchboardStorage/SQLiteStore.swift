import Foundation
import GRDB
import Logging
import SwitchboardCore

/// The embedded store: one SQLite file in WAL mode with `synchronous = FULL`, so a commit is on
/// disk before it returns. Writes from concurrent requests share commits (`GroupCommitWriter`);
/// reads run in parallel on the pool's readers.
public final class SQLiteStore: MessageStore {
    public let pool: DatabasePool

    let writer: GroupCommitWriter

    let logger: Logger

    /// Indexes contacts for search in the background (`indexPendingContacts`) when the writer is quiet.
    private let searchIndexer: Task<Void, Never>?

    /// Opens (creating if needed) the database file and applies pending migrations. Without
    /// `indexesSearchInBackground`, contacts reach the search index only through
    /// `indexPendingContacts()` (searches are exact either way).
    public init(path: String, indexesSearchInBackground: Bool = true, logger: Logger = Logger(label: "switchboard.storage")) throws {
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        let writer = GroupCommitWriter(writer: pool)
        self.pool = pool
        self.writer = writer
        self.logger = logger
        try SwitchboardMigrations.migrator.migrate(pool)
        self.searchIndexer = !indexesSearchInBackground ? nil : Task.detached(priority: .background) {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard !Task.isCancelled else { return }
                do {
                    _ = try await Self.indexPendingContacts(pool: pool, writer: writer, onlyWhenQuiet: true)
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("contact search index not updated; trying again", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    deinit {
        searchIndexer?.cancel()
    }

    /// Moves the contacts created or edited since the last call into the search index, in chunks;
    /// returns how many. Searches are exact before and after: they read the noted rows directly
    /// until they are indexed.
    @discardableResult
    public func indexPendingContacts() async throws -> Int {
        try await Self.indexPendingContacts(pool: pool, writer: writer, onlyWhenQuiet: false)
    }

    /// When the background indexer takes noted contacts in, and how many per transaction.
    static let searchPace = SearchIndexingPace.standard

    /// With `onlyWhenQuiet`, contacts are indexed after the writer has had nothing to do for half a
    /// second (a burst of webhooks is acknowledged first and indexed in the pause after it), or
    /// while the backlog exceeds the pace's limit (`SearchIndexingPace`).
    static func indexPendingContacts(pool: DatabasePool, writer: GroupCommitWriter, onlyWhenQuiet: Bool) async throws -> Int {
        var total = 0
        while true {
            // Counted before each chunk (a few milliseconds against the chunk's twenty), so what was
            // noted meanwhile counts too.
            let backlog = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact_search_pending") ?? 0 }
            let chunk = searchPace.nextChunk(backlog: backlog, writerQuietFor: writer.quietFor, onlyWhenQuiet: onlyWhenQuiet)
            if chunk == 0 { return total }
            let count = try await writer.write(isActivity: false) { db in
                try db.execute(sql: """
                    CREATE TEMP TABLE IF NOT EXISTS contact_search_batch (contact_id TEXT PRIMARY KEY) WITHOUT ROWID;
                    DELETE FROM contact_search_batch;
                    INSERT INTO contact_search_batch SELECT contact_id FROM contact_search_pending ORDER BY contact_id LIMIT \(chunk);
                    INSERT OR IGNORE INTO contact_search_ids (contact_id)
                        SELECT b.contact_id FROM contact_search_batch b JOIN contacts c ON c.id = b.contact_id;
                    DELETE FROM contact_search WHERE rowid IN (
                        SELECT k.key FROM contact_search_batch b JOIN contact_search_ids k ON k.contact_id = b.contact_id);
                    INSERT INTO contact_search (rowid, name, phone, attribute_values)
                        SELECT k.key, c.name, c.phone, (SELECT group_concat(value, ' ') FROM json_each(c.attributes))
                        FROM contact_search_batch b JOIN contacts c ON c.id = b.contact_id JOIN contact_search_ids k ON k.contact_id = c.id;
                    DELETE FROM contact_search_pending WHERE contact_id IN (SELECT contact_id FROM contact_search_batch);
                    """)
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact_search_batch") ?? 0
            }
            total += count
            if count == 0 { return total }
            await Task.yield()
        }
    }

    /// Runs `work` in a shared (group-committed) transaction.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.write(work)
    }

    /// Runs statements in one transaction outside the group-commit writer's batches (tools and
    /// benchmarks: bulk changes no request makes).
    public func runMaintenanceSQL(_ statements: [String]) async throws {
        try await pool.write { db in
            for statement in statements { try db.execute(sql: statement) }
        }
    }

    /// The migrations applied to the database, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in try SwitchboardMigrations.migrator.appliedMigrations(db) }
    }

    public func close() async {
        searchIndexer?.cancel()
        try? pool.close()
    }

    public func checkReadiness() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    static func loadContact(_ db: Database, id: String) throws -> Contact? {
        try loadContacts(db, ids: [id]).first
    }

    /// Contacts with everything the panel shows, in the order of `ids` (missing ones left out): five
    /// queries for a whole page (the ids passed as one JSON array) rather than five per contact.
    static func loadContacts(_ db: Database, ids: [String]) throws -> [Contact] {
        guard !ids.isEmpty else { return [] }
        let idList = String(decoding: try JSONEncoder().encode(ids), as: UTF8.self)
        let decoder = JSONDecoder()
        var contacts: [String: Contact] = [:]
        for row in try ContactRow.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM contacts WHERE id IN (SELECT value FROM json_each(?))"), arguments: [idList]) {
            contacts[row.id] = Contact(
                id: row.id, name: row.name, photoUrl: row.photoUrl, phone: row.phone,
                botEnabled: row.botEnabled, lastMessageAt: row.lastMessageAt.map(Timestamp.date(millis:)),
                lastChannel: row.lastChannel.flatMap(Channel.init(rawValue:)), channels: [], subscriptions: [:], rcs: nil, facebook: nil,
                attributes: (try? decoder.decode([String: String].self, from: Data(row.attributes.utf8))) ?? [:], tags: [])
        }
        guard !contacts.isEmpty else { return [] }
        // Most recently used first; the latest Messenger address gives the Facebook panel.
        for channelRow in try ContactChannelRow.fetchAll(
            db.cachedStatement(sql: """
                SELECT * FROM contact_channels WHERE contact_id IN (SELECT value FROM json_each(?))
                ORDER BY contact_id, last_used_at DESC, channel
                """),
            arguments: [idList]) {
            guard let channel = Channel(rawValue: channelRow.channel), var contact = contacts[channelRow.contactId] else { continue }
            contact.channels.append(.init(
                channel: channel, address: channelRow.address, lastUsedAt: channelRow.lastUsedAt.map(Timestamp.date(millis:))))
            contact.subscriptions[channel.rawValue] = true
            if channel == .messenger, contact.facebook == nil {
                contact.facebook = .init(
                    psid: channelRow.address, pageId: channelRow.pageId, windowOpenUntil: channelRow.windowOpenUntil.map(Timestamp.date(millis:)))
            }
            contacts[channelRow.contactId] = contact
        }
        for subscription in try SubscriptionRow.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM subscriptions WHERE contact_id IN (SELECT value FROM json_each(?))"), arguments: [idList]) {
            contacts[subscription.contactId]?.subscriptions[subscription.channel] = subscription.subscribed
        }
        let phones = Set(contacts.values.compactMap(\.phone))
        if !phones.isEmpty {
            let phoneList = String(decoding: try JSONEncoder().encode(Array(phones)), as: UTF8.self)
            var byPhone: [String: Contact.RCSInfo] = [:]
            for capability in try RCSCapabilityRow.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM rcs_capabilities WHERE phone IN (SELECT value FROM json_each(?))"),
                arguments: [phoneList]) {
                byPhone[capability.phone] = capability.info
            }
            for (id, contact) in contacts { if let phone = contact.phone { contacts[id]?.rcs = byPhone[phone] } }
        }
        for row in try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT contact_id, tag FROM contact_tags WHERE contact_id IN (SELECT value FROM json_each(?))
                ORDER BY tag COLLATE NOCASE
                """),
            arguments: [idList]) {
            contacts[try row.decode(String.self, forColumn: "contact_id")]?.tags.append(try row.decode(String.self, forColumn: "tag"))
        }
        return ids.compactMap { contacts[$0] }
    }

    static func encode(_ content: Content) throws -> String {
        try ContentJSON.encode(content)
    }

    static func decodeContent(_ json: String) throws -> Content {
        try ContentJSON.decode(json)
    }
}

/// The contacts list cursor: the last row's activity time and id, as `activity.id`.
struct ContactCursor {
    var activity: Int64
    var id: String

    init(activity: Int64, id: String) {
        self.activity = activity
        self.id = id
    }

    init?(encoded: String) {
        let parts = encoded.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let activity = Int64(parts[0]),
              parts[1].hasPrefix(SortableID.contactPrefix), parts[1].count == SortableID.contactPrefix.count + 26
        else { return nil }
        self.activity = activity
        self.id = String(parts[1])
    }

    var encoded: String { "\(activity).\(id)" }

    /// A request's cursor: nil for the first page; `StoreError.invalidCursor` for one no store handed out.
    static func parse(_ cursor: String?) throws -> ContactCursor? {
        guard let cursor else { return nil }
        guard let decoded = ContactCursor(encoded: cursor) else { throw StoreError.invalidCursor(cursor) }
        return decoded
    }
}
