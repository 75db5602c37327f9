import Foundation
import GRDB
import SwitchboardCore

/// Proactive sends: the idempotency key claimed, the contact found or created by address, the
/// message queued, in one transaction.
extension SQLiteStore {
    public func idempotentSend(key: String, since: Date) async throws -> IdempotentSend? {
        try await pool.read { db in
            try Self.idempotentSend(db, key: key, since: Timestamp.millis(since))
        }
    }

    static func idempotentSend(_ db: Database, key: String, since: Int64) throws -> IdempotentSend? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT message_id, request_hash FROM idempotency_keys WHERE key = ? AND created_at >= ?"),
            arguments: [key, since])
        else { return nil }
        return IdempotentSend(
            messageId: try row.decode(String.self, forColumn: "message_id"), requestHash: try row.decode(String.self, forColumn: "request_hash"))
    }

    public func enqueueProactive(_ send: ProactiveSend, idempotency: IdempotencyClaim?, at now: Date) async throws -> ProactiveSendResult {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db in
            if let idempotency {
                // The writer is serial: a key looked up here cannot be claimed by anyone else
                // before this transaction commits.
                let since = Timestamp.millis(idempotency.since)
                // This key if it expired, and a few other expired ones: keys are purged a little at
                // a time by the sends that use them.
                try db.cachedStatement(sql: """
                    DELETE FROM idempotency_keys
                    WHERE (key = ? AND created_at < ?) OR key IN (SELECT key FROM idempotency_keys WHERE created_at < ? LIMIT 20)
                    """).execute(arguments: [idempotency.key, since, since])
                if let first = try Self.idempotentSend(db, key: idempotency.key, since: since) { return .replayed(first) }
            }
            let (contactId, created) = try Self.findOrCreateContact(db, channel: send.channel, address: send.address, now: nowMillis)
            let message = try Self.enqueue(
                db, contactId: contactId, channel: send.channel, recipient: send.address, content: send.content, author: send.author, now: now)
            if let idempotency {
                try db.cachedStatement(sql: """
                    INSERT INTO idempotency_keys (key, request_hash, message_id, created_at) VALUES (?, ?, ?, ?)
                    """).execute(arguments: [idempotency.key, idempotency.requestHash, message.id, nowMillis])
            }
            return .queued(message, contactCreated: created)
        }
    }
}
