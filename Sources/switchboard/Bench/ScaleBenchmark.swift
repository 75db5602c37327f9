import ArgumentParser
import CurlHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage

/// Memory and API latency at scale: the gateway's RSS idle on an empty database, then on one with
/// 100,000 contacts and 1,000,000 messages (stored with the store's own ingest), and the latency of
/// the console's queries at that size: the contacts list (first and a deep page), a contact's
/// trail, a search by phone.
struct ScaleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "RSS and API latency with 100,000 contacts and 1,000,000 messages.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Contacts.")
    var contacts: Int = 100_000

    @Option(help: "Messages per contact.")
    var messagesPerContact: Int = 10

    @Option(help: "Requests timed per query.")
    var samples: Int = 200

    func run() async throws {
        let client = CurlHTTPClient()
        defer { client.shutdown() }
        let environment = ["SWITCHBOARD_BOT": "none"]

        // Idle on an empty database.
        let emptyDatabase = try await BenchDatabase(options, name: "scale-empty")
        let empty = try await GatewayProcess(
            binary: options.binary, config: options.config, port: options.gatewayPort, database: emptyDatabase.setting,
            environment: environment, log: options.work + "/scale-empty.log", client: client)
        try await Task.sleep(nanoseconds: 2_000_000_000)
        let idleEmpty = empty.rssKiB
        empty.stop()

        // Fill a database: every contact writes `messagesPerContact` times, in turns. On SQLite
        // through the store's own ingest; on PostgreSQL (where a million ingests over the network
        // would take most of the run) in bulk, rows of the same shape.
        let database = try await BenchDatabase(options, name: "scale")
        let total = contacts * messagesPerContact
        let seedStart = monotonicSeconds()
        do {
            let store = try await database.open()
            if let postgres = store as? PostgresStore {
                try await postgres.runMaintenanceSQL(Self.bulkSeed(contacts: contacts, messagesPerContact: messagesPerContact))
                // Settled, as SQLite's search index is below: what autovacuum would do over the next
                // minutes after a million inserts (its runs during the queries gave 130 ms outliers).
                try await postgres.vacuumAnalyze()
            } else {
                let contactCount = contacts
                try await concurrently(total, width: 256) { index in
                    let contact = index % contactCount
                    _ = try await store.ingest(
                        InboundMessage(channel: .sms, senderAddress: "+1558" + String(format: "%07d", contact),
                                       providerMessageId: "scale-\(index)", content: Content(text: "message \(index / contactCount) from contact \(contact)")),
                        at: Date(), bot: nil, policy: InboundPolicy())
                }
                // Names and an attribute for every contact (what the console and flows would set),
                // so that search by name and by attribute value is measured too.
                if let sqlite = store as? SQLiteStore {
                    try await sqlite.runMaintenanceSQL([Self.namesAndAttributesSQLite])
                    // Search indexing runs when writes pause; measure the settled state.
                    try await sqlite.indexPendingContacts()
                }
            }
            await store.close()
        }
        // Every contact in one tag, for the broadcast measured last.
        do {
            let store = try await database.open()
            if let postgres = store as? PostgresStore {
                try await postgres.runMaintenanceSQL(Self.tagEveryoneSQL)
            } else if let sqlite = store as? SQLiteStore {
                try await sqlite.runMaintenanceSQL(Self.tagEveryoneSQL)
            }
            await store.close()
        }
        let seedSeconds = monotonicSeconds() - seedStart
        let databaseMiB = database.mebibytes

        let gateway = try await GatewayProcess(
            binary: options.binary, config: options.config, port: options.gatewayPort, database: database.setting,
            environment: environment, log: options.work + "/scale.log", client: client)
        defer { gateway.stop() }
        try await Task.sleep(nanoseconds: 2_000_000_000)
        let idleLoaded = gateway.rssKiB

        // Ids and a deep cursor for the queries.
        var ids: [String] = []
        var cursor: String?
        var deepCursor: String?
        for page in 0..<20 {
            let path = "/api/v1/contacts?limit=50" + (cursor.map { "&cursor=" + $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! } ?? "")
            let body = try await gateway.timedGet(path).body
            let json = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            ids += ((json?["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            cursor = json?["nextCursor"] as? String
            if page == 18 { deepCursor = cursor }
        }
        guard !ids.isEmpty, let deepCursor else { throw BenchError("the contacts list is empty") }
        let queries: [(String, @Sendable (Int) -> String)] = [
            ("contacts_first_page", { _ in "/api/v1/contacts?limit=50" }),
            ("contacts_page_20", { _ in "/api/v1/contacts?limit=50&cursor=" + deepCursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }),
            ("trail_page", { [ids] index in "/api/v1/contacts/\(ids[index % ids.count])/messages?limit=50" }),
            ("search_by_phone", { [contacts] index in "/api/v1/contacts?limit=50&query=%2B1558" + String(format: "%07d", (index * 7919) % contacts) }),
            // A last name: 1 contact in 50 has it (2,000 at 100,000 contacts); the page is 50.
            ("search_by_name", { index in "/api/v1/contacts?limit=50&query=" + Self.lastNames[index % Self.lastNames.count] }),
            ("search_by_attribute_value", { [contacts] index in "/api/v1/contacts?limit=50&query=A-" + String(format: "%07d", (index * 7919) % contacts) }),
        ]
        for (name, path) in queries {
            for index in 0..<20 { _ = try await gateway.timedGet(path(index)) }
            var times: [Double] = []
            for index in 0..<samples {
                let (status, seconds, _) = try await gateway.timedGet(path(index))
                guard status == 200 else { throw BenchError("\(name): \(status)") }
                times.append(seconds)
            }
            print("RESULT api query=\(name) \(Percentiles(times).milliseconds)")
        }
        print(String(format: "RESULT scale contacts=%d messages=%d seed_rate=%.0f db_mib=%.0f rss_idle_empty_mib=%.1f rss_idle_loaded_mib=%.1f rss_after_api_mib=%.1f",
                     contacts, total, Double(total) / seedSeconds, databaseMiB, Double(idleEmpty) / 1024, Double(idleLoaded) / 1024,
                     Double(gateway.rssKiB) / 1024))

        // A broadcast to every contact: from the POST to its 202, the recipients written. Each is
        // cancelled at once, so its fan-out does not weigh on the next.
        var accepts: [Double] = []
        for run in 0..<3 {
            let body = #"{"target": {"tags": ["everyone"]}, "channel": "sms", "content": {"text": "Bench broadcast \#(run)"}}"#
            let (status, seconds, answer) = try await gateway.timed("POST", "/api/v1/broadcasts", json: body)
            guard status == 202, let json = try JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any],
                  let id = json["id"] as? String, (json["recipients"] as? Int) == contacts
            else { throw BenchError("broadcast: \(status) \(String(decoding: answer.prefix(300), as: UTF8.self))") }
            accepts.append(seconds)
            _ = try await gateway.timed("POST", "/api/v1/broadcasts/\(id)/cancel")
        }
        print("RESULT broadcast recipients=\(contacts) \(Percentiles(accepts).milliseconds)")
    }

    /// Tags every contact `everyone` (the same SQL on SQLite and PostgreSQL).
    static let tagEveryoneSQL = [
        "INSERT INTO tags (name, created_at) VALUES ('everyone', 0) ON CONFLICT DO NOTHING",
        "INSERT INTO contact_tags (contact_id, tag) SELECT id, 'everyone' FROM contacts WHERE true ON CONFLICT DO NOTHING",
    ]

    static let firstNames = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Dennis",
        "Radia", "Ken", "Sophie", "Tim", "Hedy", "Linus", "Katherine", "Claude", "Anita", "Niklaus",
    ]
    static let lastNames = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy", "Hamilton", "Ritchie",
        "Perlman", "Thompson", "Wilson", "Berners", "Lamarr", "Torvalds", "Johnson", "Shannon", "Borg", "Wirth",
        "Backus", "Kay", "Cerf", "Kahn", "Hoare", "Milner", "Lamport", "Tarjan", "Karp", "Cook",
        "Rivest", "Shamir", "Adleman", "Diffie", "Hellman", "Merkle", "Goldwasser", "Micali", "Yao", "Valiant",
        "Pearl", "Hinton", "Bengio", "LeCun", "Feigenbaum", "Reddy", "Engelbart", "Sutherland", "Stonebraker", "Codd",
    ]

    static func json(_ names: [String]) -> String {
        "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    /// Contact `c` (its phone is +1558 and c in 7 digits) is named first name `c % 20` and last name
    /// `(c / 20) % 50`, with the attribute order = A- and c in 7 digits; the same on PostgreSQL.
    static var namesAndAttributesSQLite: String {
        """
        UPDATE contacts SET
            name = json_extract('\(json(firstNames))', '$[' || (CAST(substr(phone, 6) AS INTEGER) % \(firstNames.count)) || ']') || ' '
                || json_extract('\(json(lastNames))', '$[' || ((CAST(substr(phone, 6) AS INTEGER) / \(firstNames.count)) % \(lastNames.count)) || ']'),
            attributes = json_object('order', 'A-' || substr(phone, 6))
        """
    }

    /// PostgreSQL rows like `contacts` phones writing `messagesPerContact` times each in turns (the
    /// same ids, phones, texts and order as the SQLite seeding), inserted in bulk.
    static func bulkSeed(contacts: Int, messagesPerContact: Int) -> [String] {
        let total = contacts * messagesPerContact
        return [
            """
            INSERT INTO contacts (id, phone, name, attributes, bot_enabled, last_message_at, last_channel, created_at, updated_at)
                SELECT 'ct_' || lpad(c::text, 26, '0'), '+1558' || lpad(c::text, 7, '0'),
                       ('\(Self.json(firstNames))'::jsonb ->> (c % \(firstNames.count))) || ' '
                           || ('\(Self.json(lastNames))'::jsonb ->> ((c / \(firstNames.count)) % \(lastNames.count))),
                       jsonb_build_object('order', 'A-' || lpad(c::text, 7, '0')), true,
                       1700000000000 + (\(messagesPerContact - 1) * \(contacts) + c), 'sms', 1700000000000 + c, 1700000000000 + c
                FROM generate_series(0, \(contacts - 1)) AS c
            """,
            """
            INSERT INTO contact_channels (channel, address, contact_id, last_used_at)
                SELECT 'sms', '+1558' || lpad(c::text, 7, '0'), 'ct_' || lpad(c::text, 26, '0'),
                       1700000000000 + (\(messagesPerContact - 1) * \(contacts) + c)
                FROM generate_series(0, \(contacts - 1)) AS c
            """,
            """
            INSERT INTO messages (id, contact_id, channel, direction, author_kind, content, status, provider_message_id, created_at, updated_at)
                SELECT 'msg_' || lpad(i::text, 26, '0'), 'ct_' || lpad((i % \(contacts))::text, 26, '0'), 'sms', 'inbound', 'contact',
                       '{"text":"message ' || (i / \(contacts)) || ' from contact ' || (i % \(contacts)) || '"}', 'received', 'scale-' || i,
                       1700000000000 + i, 1700000000000 + i
                FROM generate_series(0, \(total - 1)) AS i
            """,
            """
            INSERT INTO processed_provider_ids (channel, provider_message_id, message_id, received_at)
                SELECT 'sms', 'scale-' || i, 'msg_' || lpad(i::text, 26, '0'), 1700000000000 + i FROM generate_series(0, \(total - 1)) AS i
            """,
        ]
    }
}
