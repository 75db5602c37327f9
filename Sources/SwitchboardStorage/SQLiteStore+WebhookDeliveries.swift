import Foundation
import GRDB
import SwitchboardCore

/// Event webhooks' queue on SQLite. The delivery rows are written by triggers that exist only
/// while a subscriber is configured, so a gateway without one pays nothing on any write.
extension SQLiteStore {
    public func syncWebhookSubscribers(_ subscribers: [WebhookSubscription], at now: Date) async throws {
        let nowMillis = Timestamp.millis(now)
        try await writer.write { db in
            let names = subscribers.map(\.name)
            try db.execute(
                sql: "DELETE FROM webhook_subscribers WHERE name NOT IN (\(databaseQuestionMarks(count: names.count)))",
                arguments: StatementArguments(names))
            for subscriber in subscribers {
                try db.execute(sql: """
                    INSERT INTO webhook_subscribers (name, url, events, enabled, updated_at) VALUES (?, ?, ?, 1, ?)
                    ON CONFLICT (name) DO UPDATE SET
                        events = excluded.events,
                        enabled = CASE WHEN url = excluded.url THEN enabled ELSE 1 END,
                        disabled_at = CASE WHEN url = excluded.url THEN disabled_at ELSE NULL END,
                        url = excluded.url, updated_at = excluded.updated_at
                    """, arguments: [subscriber.name, subscriber.url, WebhookTriggers.eventList(subscriber.events), nowMillis])
            }
            for statement in WebhookTriggers.sqliteDrop { try db.execute(sql: statement) }
            if !subscribers.isEmpty {
                for statement in WebhookTriggers.sqliteCreate { try db.execute(sql: statement) }
            }
        }
    }

    public func claimWebhookDeliveries(subscribers: [String], limit: Int, now: Date, lease: Double) async throws -> [WebhookDelivery] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        let names = String(decoding: try JSONEncoder().encode(subscribers), as: UTF8.self)
        return try await writer.write { db in
            let ids = try Int64.fetchAll(db.cachedStatement(sql: """
                SELECT d.id FROM webhook_deliveries d
                WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.subscriber IN (SELECT value FROM json_each(?))
                  AND NOT EXISTS (
                    SELECT 1 FROM webhook_deliveries e
                    WHERE e.state = 'pending' AND e.subscriber = d.subscriber AND e.ordering_key = d.ordering_key
                      AND (e.id < d.id OR (e.claim_id IS NOT NULL AND e.next_attempt_at > ?)))
                ORDER BY d.next_attempt_at, d.id LIMIT ?
                """), arguments: [nowMillis, names, nowMillis, max(0, limit)])
            var claimed: [WebhookDelivery] = []
            for id in ids {
                try db.cachedStatement(sql: """
                    UPDATE webhook_deliveries SET claim_id = ?, next_attempt_at = ?, attempts = attempts + 1,
                        first_attempt_at = COALESCE(first_attempt_at, ?)
                    WHERE id = ?
                    """).execute(arguments: [claimId, leaseEnd, nowMillis, id])
                if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhook_deliveries WHERE id = ?"), arguments: [id]) {
                    claimed.append(try Self.webhookDelivery(row))
                }
            }
            return claimed
        }
    }

    public func recordWebhookAttempts(_ attempts: [WebhookAttempt], at now: Date) async throws -> [Int64] {
        guard !attempts.isEmpty else { return [] }
        return try await writer.write { db in
            var lost: [Int64] = []
            for attempt in attempts where !(try Self.record(attempt, db: db, now: now)) { lost.append(attempt.delivery.id) }
            return lost
        }
    }

    /// One outcome, in the caller's transaction; false when the claim no longer holds the row.
    static func record(_ attempt: WebhookAttempt, db: Database, now: Date) throws -> Bool {
        let (delivery, outcome) = (attempt.delivery, attempt.outcome)
        let nowMillis = Timestamp.millis(now)
        guard delivery.claimId != nil, try String.fetchOne(
            db.cachedStatement(sql: "SELECT claim_id FROM webhook_deliveries WHERE id = ? AND state = 'pending'"), arguments: [delivery.id]
        ) == delivery.claimId
        else { return false }
        // The contact's later deliveries wait as long as this one (a retry), or are due now
        // that it is done.
        func contactsRest(_ next: String, _ value: Int64) throws {
            try db.cachedStatement(sql: """
                UPDATE webhook_deliveries SET next_attempt_at = \(next) WHERE subscriber = ? AND ordering_key = ? AND state = 'pending'
                """).execute(arguments: [value, delivery.subscriber, delivery.orderingKey])
        }
        switch outcome {
        case .delivered(let code):
            try db.cachedStatement(sql: """
                UPDATE webhook_deliveries SET state = 'delivered', finished_at = ?, last_status_code = ?, last_error = NULL, claim_id = NULL
                WHERE id = ?
                """).execute(arguments: [nowMillis, code, delivery.id])
            try contactsRest("MIN(next_attempt_at, ?)", nowMillis)
        case .retry(let notBefore, let error, let code):
            try db.cachedStatement(sql: """
                UPDATE webhook_deliveries SET next_attempt_at = ?, last_error = ?, last_status_code = ?, claim_id = NULL WHERE id = ?
                """).execute(arguments: [Timestamp.millis(notBefore), error, code, delivery.id])
            try contactsRest("MAX(next_attempt_at, ?)", Timestamp.millis(notBefore))
        case .failed(let error, let code):
            try db.cachedStatement(sql: """
                UPDATE webhook_deliveries SET state = 'failed', finished_at = ?, last_error = ?, last_status_code = ?, claim_id = NULL
                WHERE id = ?
                """).execute(arguments: [nowMillis, error, code, delivery.id])
            try contactsRest("MIN(next_attempt_at, ?)", nowMillis)
        case .subscriberGone:
            try db.execute(
                sql: "UPDATE webhook_subscribers SET enabled = 0, disabled_at = ? WHERE name = ?",
                arguments: [nowMillis, delivery.subscriber])
            try db.execute(sql: """
                UPDATE webhook_deliveries SET state = 'failed', finished_at = ?, last_status_code = 410,
                    last_error = 'the subscriber answered 410 Gone: it is disabled', claim_id = NULL
                WHERE id = ?
                """, arguments: [nowMillis, delivery.id])
            try db.execute(sql: """
                UPDATE webhook_deliveries SET state = 'failed', finished_at = ?,
                    last_error = 'not sent: the subscriber answered 410 Gone to another event and is disabled', claim_id = NULL
                WHERE subscriber = ? AND state = 'pending'
                """, arguments: [nowMillis, delivery.subscriber])
        }
        return true
    }

    public func webhookDeliveries(state: WebhookDeliveryState?, limit: Int, before: Int64?) async throws -> Page<WebhookDelivery> {
        let limit = max(1, limit)
        return try await pool.read { db in
            var sql = "SELECT * FROM webhook_deliveries WHERE id < ?"
            var arguments: StatementArguments = [before ?? Int64.max]
            if let state {
                sql += " AND state = ?"
                arguments += [state.rawValue]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let items = try rows.prefix(limit).map(Self.webhookDelivery)
            return Page(items: items, nextCursor: rows.count > limit ? items.last.map { String($0.id) } : nil)
        }
    }

    public func retryWebhookDelivery(id: Int64, at now: Date) async throws -> WebhookRetryResult {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id]) else {
                return .notFound
            }
            let delivery = try Self.webhookDelivery(row)
            if delivery.state == .pending { return .alreadyPending }
            // A change of the contact not yet sent carries it as it is now: this one adds nothing.
            if delivery.type == .contactUpdated, try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE subscriber = ? AND subject_id = ? AND event_type = 'contact.updated'
                               AND state = 'pending' AND attempts = 0)
                """, arguments: [delivery.subscriber, delivery.subjectId]) == true {
                return .alreadyPending
            }
            try db.execute(
                sql: "UPDATE webhook_subscribers SET enabled = 1, disabled_at = NULL WHERE name = ?", arguments: [delivery.subscriber])
            try db.execute(sql: """
                UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, first_attempt_at = NULL, finished_at = NULL,
                    claim_id = NULL
                WHERE id = ?
                """, arguments: [nowMillis, id])
            guard let updated = try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id]) else {
                return .notFound
            }
            return .queued(try Self.webhookDelivery(updated))
        }
    }

    public func purgeWebhookDeliveries(deliveredBefore: Date, failedBefore: Date) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: """
                DELETE FROM webhook_deliveries
                WHERE (state = 'delivered' AND finished_at < ?) OR (state = 'failed' AND finished_at < ?)
                """, arguments: [Timestamp.millis(deliveredBefore), Timestamp.millis(failedBefore)])
            return db.changesCount
        }
    }

    static func webhookDelivery(_ row: Row) throws -> WebhookDelivery {
        let typeName: String = try row.decode(forColumn: "event_type")
        let stateName: String = try row.decode(forColumn: "state")
        guard let type = WebhookEventType(rawValue: typeName), let state = WebhookDeliveryState(rawValue: stateName) else {
            throw WebhookRowError(description: "webhook_deliveries holds an unknown event type or state: \(typeName), \(stateName)")
        }
        let attempts: Int64 = try row.decode(forColumn: "attempts")
        let code: Int64? = try row.decode(forColumn: "last_status_code")
        return WebhookDelivery(
            id: try row.decode(forColumn: "id"), subscriber: try row.decode(forColumn: "subscriber"), type: type,
            subjectId: try row.decode(forColumn: "subject_id"), orderingKey: try row.decode(forColumn: "ordering_key"),
            status: try row.decode(forColumn: "status"), occurredAt: Timestamp.date(millis: try row.decode(forColumn: "occurred_at")),
            state: state, attempts: Int(clamping: attempts),
            firstAttemptAt: (try row.decode(Int64?.self, forColumn: "first_attempt_at")).map(Timestamp.date(millis:)),
            nextAttemptAt: Timestamp.date(millis: try row.decode(forColumn: "next_attempt_at")),
            lastError: try row.decode(forColumn: "last_error"), lastStatusCode: code.map { Int(clamping: $0) },
            finishedAt: (try row.decode(Int64?.self, forColumn: "finished_at")).map(Timestamp.date(millis:)),
            claimId: try row.decode(forColumn: "claim_id"))
    }
}

/// A stored delivery that does not read back (a value written by something else).
public struct WebhookRowError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
