import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Event webhooks' queue across instances: rows written by the v21 triggers, claimed like the
/// outbox (SKIP LOCKED, a lease, a claim id), one at a time per subscriber and contact.
extension PostgresStore {
    public func syncWebhookSubscribers(_ subscribers: [WebhookSubscription], at now: Date) async throws {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        try await transaction { connection in
            let names = subscribers.map(\.name)
            // Another instance may still run the previous configuration: a subscriber goes once
            // nobody has named it for a day (instances name theirs at startup and hourly).
            let dayAgo = nowMillis - 86_400_000
            try await connection.rows(
                "DELETE FROM webhook_subscribers WHERE NOT (name = ANY (\(names)::TEXT[])) AND updated_at < \(dayAgo)", logger)
            for subscriber in subscribers {
                let events = subscriber.events.map(\.rawValue).sorted()
                try await connection.rows("""
                    INSERT INTO webhook_subscribers (name, url, events, enabled, updated_at)
                    VALUES (\(subscriber.name), \(subscriber.url), \(events), true, \(nowMillis))
                    ON CONFLICT (name) DO UPDATE SET
                        events = excluded.events,
                        enabled = CASE WHEN webhook_subscribers.url = excluded.url THEN webhook_subscribers.enabled ELSE true END,
                        disabled_at = CASE WHEN webhook_subscribers.url = excluded.url THEN webhook_subscribers.disabled_at ELSE NULL END,
                        url = excluded.url, updated_at = excluded.updated_at
                    """, logger)
            }
        }
    }

    static let webhookColumns = """
        id, subscriber, event_type, subject_id, ordering_key, status, occurred_at, state, attempts, first_attempt_at,
        next_attempt_at, claim_id, last_error, last_status_code, finished_at
        """

    /// `pg_advisory_xact_lock`'s key for claiming deliveries: one claim at a time across the instances.
    static let webhookClaimLockKey: Int64 = 0x5357_4254_5748_4b43 // "SWBTWHKC"

    public func claimWebhookDeliveries(subscribers: [String], limit: Int, now: Date, lease: Double) async throws -> [WebhookDelivery] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        let logger = logger
        return try await transaction { connection in
            // Claims take turns, and each statement then sees the previous claims committed: a
            // contact with a delivery in flight (leased) gets no other, whatever their ids (an id
            // is taken before its transaction commits, so a lower one can appear later).
            try await connection.rows("SELECT pg_advisory_xact_lock(\(Self.webhookClaimLockKey))", logger)
            let rows = try await connection.rows("""
                WITH due AS (
                    SELECT d.id FROM webhook_deliveries d
                    WHERE d.state = 'pending' AND d.next_attempt_at <= \(nowMillis) AND d.subscriber = ANY (\(subscribers)::TEXT[])
                      AND NOT EXISTS (
                        SELECT 1 FROM webhook_deliveries e
                        WHERE e.state = 'pending' AND e.subscriber = d.subscriber AND e.ordering_key = d.ordering_key
                          AND (e.id < d.id OR (e.claim_id IS NOT NULL AND e.next_attempt_at > \(nowMillis))))
                    ORDER BY d.next_attempt_at, d.id LIMIT \(max(0, limit))
                    FOR UPDATE SKIP LOCKED)
                UPDATE webhook_deliveries w SET claim_id = \(claimId), next_attempt_at = \(leaseEnd), attempts = w.attempts + 1,
                    first_attempt_at = COALESCE(w.first_attempt_at, \(nowMillis))
                FROM due WHERE w.id = due.id
                RETURNING \(unescaped: Self.webhookColumns.split(separator: ",").map { "w." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
                """, logger)
            return try rows.map(Self.webhookDelivery).sorted { $0.id < $1.id }
        }
    }

    public func recordWebhookAttempts(_ attempts: [WebhookAttempt], at now: Date) async throws -> [Int64] {
        guard !attempts.isEmpty else { return [] }
        let logger = logger
        return try await transaction { connection in
            var lost: [Int64] = []
            for attempt in attempts where try await !Self.record(attempt, connection: connection, now: now, logger: logger) {
                lost.append(attempt.delivery.id)
            }
            return lost
        }
    }

    /// One outcome, in the caller's transaction; false when the claim no longer holds the row.
    static func record(_ attempt: WebhookAttempt, connection: PostgresConnection, now: Date, logger: Logger) async throws -> Bool {
        let (delivery, outcome) = (attempt.delivery, attempt.outcome)
        let nowMillis = Timestamp.millis(now)
        do {
            let owner = try await connection.rows(
                "SELECT claim_id FROM webhook_deliveries WHERE id = \(delivery.id) AND state = 'pending' FOR UPDATE", logger
            ).first?.value("claim_id", as: String?.self)
            guard let owner, owner == delivery.claimId else { return false }
            // The contact's later deliveries wait as long as this one (a retry), or are due now
            // that it is done.
            let (subscriber, key) = (delivery.subscriber, delivery.orderingKey)
            switch outcome {
            case .delivered(let code):
                try await connection.rows("""
                    UPDATE webhook_deliveries SET state = 'delivered', finished_at = \(nowMillis), last_status_code = \(Int64(code)),
                        last_error = NULL, claim_id = NULL
                    WHERE id = \(delivery.id)
                    """, logger)
                try await connection.rows("""
                    UPDATE webhook_deliveries SET next_attempt_at = LEAST(next_attempt_at, \(nowMillis))
                    WHERE subscriber = \(subscriber) AND ordering_key = \(key) AND state = 'pending'
                    """, logger)
            case .retry(let notBefore, let error, let code):
                let notBeforeMillis = Timestamp.millis(notBefore)
                try await connection.rows("""
                    UPDATE webhook_deliveries SET next_attempt_at = \(notBeforeMillis), last_error = \(error),
                        last_status_code = \(code.map(Int64.init)), claim_id = NULL
                    WHERE id = \(delivery.id)
                    """, logger)
                try await connection.rows("""
                    UPDATE webhook_deliveries SET next_attempt_at = GREATEST(next_attempt_at, \(notBeforeMillis))
                    WHERE subscriber = \(subscriber) AND ordering_key = \(key) AND state = 'pending'
                    """, logger)
            case .failed(let error, let code):
                try await connection.rows("""
                    UPDATE webhook_deliveries SET state = 'failed', finished_at = \(nowMillis), last_error = \(error),
                        last_status_code = \(code.map(Int64.init)), claim_id = NULL
                    WHERE id = \(delivery.id)
                    """, logger)
                try await connection.rows("""
                    UPDATE webhook_deliveries SET next_attempt_at = LEAST(next_attempt_at, \(nowMillis))
                    WHERE subscriber = \(subscriber) AND ordering_key = \(key) AND state = 'pending'
                    """, logger)
            case .subscriberGone:
                try await connection.rows(
                    "UPDATE webhook_subscribers SET enabled = false, disabled_at = \(nowMillis) WHERE name = \(delivery.subscriber)", logger)
                try await connection.rows("""
                    UPDATE webhook_deliveries SET state = 'failed', finished_at = \(nowMillis), last_status_code = 410,
                        last_error = 'the subscriber answered 410 Gone: it is disabled', claim_id = NULL
                    WHERE id = \(delivery.id)
                    """, logger)
                try await connection.rows("""
                    UPDATE webhook_deliveries SET state = 'failed', finished_at = \(nowMillis),
                        last_error = 'not sent: the subscriber answered 410 Gone to another event and is disabled', claim_id = NULL
                    WHERE subscriber = \(delivery.subscriber) AND state = 'pending'
                    """, logger)
            }
            return true
        }
    }

    public func webhookDeliveries(state: WebhookDeliveryState?, limit: Int, before: Int64?) async throws -> Page<WebhookDelivery> {
        let limit = max(1, limit)
        let logger = logger
        let stateName = state?.rawValue
        return try await read { connection in
            let rows = try await connection.rows("""
                SELECT \(unescaped: Self.webhookColumns) FROM webhook_deliveries
                WHERE id < \(before ?? Int64.max) AND (\(stateName)::TEXT IS NULL OR state = \(stateName))
                ORDER BY id DESC LIMIT \(Int64(limit + 1))
                """, logger)
            let items = try rows.prefix(limit).map(Self.webhookDelivery)
            return Page(items: items, nextCursor: rows.count > limit ? items.last.map { String($0.id) } : nil)
        }
    }

    public func retryWebhookDelivery(id: Int64, at now: Date) async throws -> WebhookRetryResult {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        return try await transaction { connection in
            guard let row = try await connection.rows(
                "SELECT \(unescaped: Self.webhookColumns) FROM webhook_deliveries WHERE id = \(id) FOR UPDATE", logger
            ).first else { return .notFound }
            let delivery = try Self.webhookDelivery(row)
            if delivery.state == .pending { return .alreadyPending }
            // A change of the contact not yet sent carries it as it is now: this one adds nothing.
            if delivery.type == .contactUpdated, try await !connection.rows("""
                SELECT 1 FROM webhook_deliveries WHERE subscriber = \(delivery.subscriber) AND subject_id = \(delivery.subjectId)
                    AND event_type = 'contact.updated' AND state = 'pending' AND attempts = 0
                """, logger).isEmpty {
                return .alreadyPending
            }
            try await connection.rows(
                "UPDATE webhook_subscribers SET enabled = true, disabled_at = NULL WHERE name = \(delivery.subscriber)", logger)
            guard let updated = try await connection.rows("""
                UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = \(nowMillis), first_attempt_at = NULL,
                    finished_at = NULL, claim_id = NULL
                WHERE id = \(id)
                RETURNING \(unescaped: Self.webhookColumns)
                """, logger).first
            else { return .notFound }
            return .queued(try Self.webhookDelivery(updated))
        }
    }

    public func purgeWebhookDeliveries(deliveredBefore: Date, failedBefore: Date) async throws -> Int {
        let logger = logger
        let (delivered, failed) = (Timestamp.millis(deliveredBefore), Timestamp.millis(failedBefore))
        return try await transaction { connection in
            try await connection.rows("""
                DELETE FROM webhook_deliveries
                WHERE (state = 'delivered' AND finished_at < \(delivered)) OR (state = 'failed' AND finished_at < \(failed))
                RETURNING id
                """, logger).count
        }
    }

    static func webhookDelivery(_ row: PostgresRandomAccessRow) throws -> WebhookDelivery {
        let typeName: String = try row.value("event_type")
        let stateName: String = try row.value("state")
        guard let type = WebhookEventType(rawValue: typeName), let state = WebhookDeliveryState(rawValue: stateName) else {
            throw WebhookRowError(description: "webhook_deliveries holds an unknown event type or state: \(typeName), \(stateName)")
        }
        let attempts: Int64 = try row.value("attempts")
        let code = try row.value("last_status_code", as: Int64?.self)
        return WebhookDelivery(
            id: try row.value("id"), subscriber: try row.value("subscriber"), type: type, subjectId: try row.value("subject_id"),
            orderingKey: try row.value("ordering_key"), status: try row.value("status", as: String?.self),
            occurredAt: Timestamp.date(millis: try row.value("occurred_at")), state: state, attempts: Int(clamping: attempts),
            firstAttemptAt: try row.value("first_attempt_at", as: Int64?.self).map(Timestamp.date(millis:)),
            nextAttemptAt: Timestamp.date(millis: try row.value("next_attempt_at")),
            lastError: try row.value("last_error", as: String?.self), lastStatusCode: code.map { Int(clamping: $0) },
            finishedAt: try row.value("finished_at", as: Int64?.self).map(Timestamp.date(millis:)),
            claimId: try row.value("claim_id", as: String?.self))
    }
}
