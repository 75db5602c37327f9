import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// The queue of inbound media to fetch, across instances: claimed like the outbox (SKIP LOCKED,
/// lease, claim id).
extension PostgresStore {
    public func claimMediaFetches(limit: Int, now: Date, lease: Double) async throws -> [MediaFetch] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        let logger = logger
        return try await transaction { connection in
            let claimed = try await connection.rows("""
                WITH due AS (
                    SELECT message_id, attachment_index FROM media_fetches WHERE next_attempt_at <= \(nowMillis)
                    ORDER BY next_attempt_at, message_id LIMIT \(max(0, limit))
                    FOR UPDATE SKIP LOCKED)
                UPDATE media_fetches f SET next_attempt_at = \(leaseEnd), attempts = f.attempts + 1, claim_id = \(claimId)
                FROM due WHERE f.message_id = due.message_id AND f.attachment_index = due.attachment_index
                RETURNING f.message_id, f.attachment_index, f.url, f.channel, f.attempts, f.created_at
                """, logger)
            return try claimed.compactMap { row -> MediaFetch? in
                guard let channel = Channel(rawValue: try row.value("channel", as: String.self)) else { return nil }
                return MediaFetch(
                    messageId: try row.value("message_id"), attachmentIndex: Int(clamping: try row.value("attachment_index", as: Int32.self)),
                    url: try row.value("url"), channel: channel, attempts: Int(clamping: try row.value("attempts", as: Int64.self) - 1),
                    createdAt: Timestamp.date(millis: try row.value("created_at")), claimId: claimId)
            }.sorted { ($0.messageId, $0.attachmentIndex) < ($1.messageId, $1.attachmentIndex) }
        }
    }

    public func completeMediaFetch(_ fetch: MediaFetch, outcome: MediaFetchOutcome, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        let logger = logger
        let index = Int32(clamping: fetch.attachmentIndex)
        return try await transaction { connection -> Message? in
            if case .retry(let notBefore, let error) = outcome {
                let moved = try await connection.rows("""
                    UPDATE media_fetches SET next_attempt_at = \(Timestamp.millis(notBefore)), last_error = \(String(error.prefix(500))), claim_id = NULL
                    WHERE message_id = \(fetch.messageId) AND attachment_index = \(index) AND claim_id = \(fetch.claimId)
                    RETURNING message_id
                    """, logger)
                guard !moved.isEmpty else { throw StoreError.leaseLost(messageId: fetch.messageId) }
                return nil
            }
            let removed = try await connection.rows("""
                DELETE FROM media_fetches WHERE message_id = \(fetch.messageId) AND attachment_index = \(index) AND claim_id = \(fetch.claimId)
                RETURNING message_id
                """, logger)
            guard !removed.isEmpty else { throw StoreError.leaseLost(messageId: fetch.messageId) }
            guard let row = try await connection.rows(
                    "SELECT \(unescaped: Self.messageColumns) FROM messages WHERE id = \(fetch.messageId) FOR UPDATE", logger).first,
                  var message = try Self.message(from: row),
                  let content = message.content.applying(outcome, toAttachment: fetch.attachmentIndex, fetchedFrom: fetch.url)
            else { return nil }
            message.content = content
            message.updatedAt = Timestamp.date(millis: nowMillis)
            try await connection.rows(
                "UPDATE messages SET content = \(try Self.encode(content)), updated_at = \(nowMillis) WHERE id = \(message.id)", logger)
            return message
        }
    }
}
