import Foundation
import GRDB
import SwitchboardCore

/// The queue of inbound media to fetch.
extension SQLiteStore {
    public func claimMediaFetches(limit: Int, now: Date, lease: Double) async throws -> [MediaFetch] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        // Polled every second: look on a reader first, so an empty queue never takes the writer
        // (which every webhook's commit goes through).
        let due = try await pool.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM media_fetches WHERE next_attempt_at <= ?)"),
                              arguments: [nowMillis]) ?? false
        }
        guard due else { return [] }
        return try await writer.write { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM media_fetches WHERE next_attempt_at <= ? ORDER BY next_attempt_at, message_id, attachment_index LIMIT ?",
                arguments: [nowMillis, limit])
            var fetches: [MediaFetch] = []
            for row in rows {
                let messageId: String = try row.decode(forColumn: "message_id")
                let index: Int64 = try row.decode(forColumn: "attachment_index")
                try db.execute(
                    sql: """
                        UPDATE media_fetches SET next_attempt_at = ?, attempts = attempts + 1, claim_id = ?
                        WHERE message_id = ? AND attachment_index = ?
                        """,
                    arguments: [leaseEnd, claimId, messageId, index])
                guard let channel = Channel(rawValue: try row.decode(forColumn: "channel")) else { continue }
                fetches.append(MediaFetch(
                    messageId: messageId, attachmentIndex: Int(clamping: index), url: try row.decode(forColumn: "url"), channel: channel,
                    attempts: Int(clamping: try row.decode(forColumn: "attempts") as Int64),
                    createdAt: Timestamp.date(millis: try row.decode(forColumn: "created_at")), claimId: claimId))
            }
            return fetches
        }
    }

    public func completeMediaFetch(_ fetch: MediaFetch, outcome: MediaFetchOutcome, at now: Date) async throws -> Message? {
        let nowMillis = Timestamp.millis(now)
        return try await writer.write { db -> Message? in
            let key: StatementArguments = [fetch.messageId, fetch.attachmentIndex, fetch.claimId]
            if case .retry(let notBefore, let error) = outcome {
                try db.execute(
                    sql: """
                        UPDATE media_fetches SET next_attempt_at = ?, last_error = ?, claim_id = NULL
                        WHERE message_id = ? AND attachment_index = ? AND claim_id = ?
                        """,
                    arguments: [Timestamp.millis(notBefore), String(error.prefix(500))] + key)
                guard db.changesCount > 0 else { throw StoreError.leaseLost(messageId: fetch.messageId) }
                return nil
            }
            try db.execute(sql: "DELETE FROM media_fetches WHERE message_id = ? AND attachment_index = ? AND claim_id = ?", arguments: key)
            guard db.changesCount > 0 else { throw StoreError.leaseLost(messageId: fetch.messageId) }
            guard var message = try MessageRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [fetch.messageId])?
                    .message(),
                  let content = message.content.applying(outcome, toAttachment: fetch.attachmentIndex, fetchedFrom: fetch.url)
            else { return nil }
            message.content = content
            message.updatedAt = Timestamp.date(millis: nowMillis)
            try db.execute(
                sql: "UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
                arguments: [try Self.encode(content), nowMillis, message.id])
            return message
        }
    }
}
