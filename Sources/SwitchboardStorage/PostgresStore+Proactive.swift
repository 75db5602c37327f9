import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Proactive sends: the idempotency key claimed, the contact found or created by address, the
/// message queued, in one transaction.
extension PostgresStore {
    public func idempotentSend(key: String, since: Date) async throws -> IdempotentSend? {
        let logger = logger
        let sinceMillis = Timestamp.millis(since)
        return try await read { connection in
            try await Self.idempotentSend(connection, key: key, since: sinceMillis, logger: logger)
        }
    }

    static func idempotentSend(_ connection: PostgresConnection, key: String, since: Int64, logger: Logger) async throws -> IdempotentSend? {
        guard let row = try await connection.rows(
            "SELECT message_id, request_hash FROM idempotency_keys WHERE key = \(key) AND created_at >= \(since)", logger
        ).first else { return nil }
        return IdempotentSend(messageId: try row.value("message_id"), requestHash: try row.value("request_hash"))
    }

    public func enqueueProactive(_ send: ProactiveSend, idempotency: IdempotencyClaim?, at now: Date) async throws -> ProactiveSendResult {
        let nowMillis = Timestamp.millis(now)
        let messageId = SortableID.make(prefix: SortableID.messagePrefix, now: now)
        let newContactId = SortableID.make(prefix: SortableID.contactPrefix, now: now)
        let logger = logger
        return try await transaction { connection in
            if let idempotency {
                let since = Timestamp.millis(idempotency.since)
                // This key if it expired, and a few other expired ones that no other send holds:
                // keys are purged a little at a time, without waiting on each other.
                try await connection.rows("""
                    DELETE FROM idempotency_keys WHERE (key = \(idempotency.key) AND created_at < \(since))
                        OR key IN (SELECT key FROM idempotency_keys WHERE created_at < \(since) LIMIT 20 FOR UPDATE SKIP LOCKED)
                    """, logger)
                // Claimed before anything is queued: a request with the same key on another
                // instance waits here for this transaction, then finds the key taken.
                let claimed = try await connection.rows("""
                    INSERT INTO idempotency_keys (key, request_hash, message_id, created_at)
                    VALUES (\(idempotency.key), \(idempotency.requestHash), \(messageId), \(nowMillis))
                    ON CONFLICT (key) DO NOTHING RETURNING key
                    """, logger)
                if claimed.isEmpty {
                    guard let first = try await Self.idempotentSend(connection, key: idempotency.key, since: since, logger: logger) else {
                        throw StoreError.idempotencyKeyBusy(idempotency.key)
                    }
                    return .replayed(first)
                }
            }
            guard let found = try await connection.rows("""
                SELECT contact, is_new FROM switchboard_contact_for(\(send.channel.rawValue), \(send.address), \(newContactId), \(nowMillis))
                """, logger).first
            else { throw PostgresStoreError.unexpectedAnswer("switchboard_contact_for returned no row") }
            let contactId: String = try found.value("contact")
            let created: Bool = try found.value("is_new")
            let message = try await Self.enqueue(
                connection, id: messageId, contactId: contactId, channel: send.channel, recipient: send.address, content: send.content,
                author: send.author, now: now, logger: logger)
            return .queued(message, contactCreated: created)
        }
    }
}
