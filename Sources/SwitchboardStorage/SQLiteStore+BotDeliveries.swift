import Foundation
import GRDB
import Logging
import SwitchboardCore

/// The external bot's queue.
extension SQLiteStore {
    public func claimBotDeliveries(limit: Int, now: Date, lease: Double) async throws -> [BotDelivery] {
        let nowMillis = Timestamp.millis(now)
        let leaseEnd = nowMillis + Int64(lease * 1000)
        let claimId = UUID().uuidString
        return try await writer.write { db in
            let rows = try BotDeliveryRow.fetchAll(
                db, sql: "SELECT * FROM bot_deliveries WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                arguments: [nowMillis, limit])
            var deliveries: [BotDelivery] = []
            for row in rows {
                let id = row.messageId
                try db.execute(
                    sql: "UPDATE bot_deliveries SET next_attempt_at = ?, attempts = attempts + 1, claim_id = ? WHERE message_id = ?",
                    arguments: [leaseEnd, claimId, id])
                guard let message = try MessageRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM messages WHERE id = ?"), arguments: [id])?
                        .message(),
                      let contact = try Self.loadContact(db, id: message.contactId)
                else { continue }
                deliveries.append(BotDelivery(message: message, contact: contact, previousAttempts: Int(clamping: row.attempts), claimId: claimId))
            }
            return deliveries
        }
    }

    public func completeBotDelivery(_ delivery: BotDelivery, turn: BotTurn?, at now: Date) async throws -> [Message] {
        let logger = self.logger
        return try await writer.write { db in
            try db.execute(
                sql: "DELETE FROM bot_deliveries WHERE message_id = ? AND claim_id = ?", arguments: [delivery.message.id, delivery.claimId])
            guard db.changesCount > 0 else { throw StoreError.leaseLost(messageId: delivery.message.id) }
            guard let turn, let contact = try Self.loadContact(db, id: delivery.contact.id), contact.botEnabled else { return [] }
            let channel = delivery.message.channel
            guard let recipient = contact.channels.first(where: { $0.channel == channel })?.address else { return [] }
            return try Self.apply(
                BotTurnPlan(turn: turn, channel: channel, subscribed: contact.subscriptions[channel.rawValue] != false),
                contactId: contact.id, channel: channel, recipient: recipient, db: db, now: now, logger: logger)
        }
    }

    public func retryBotDelivery(messageId: String, claimId: String?, notBefore: Date?, error: String) async throws {
        try await writer.write { db in
            if let claimId, try String.fetchOne(
                db, sql: "SELECT claim_id FROM bot_deliveries WHERE message_id = ?", arguments: [messageId]) != claimId {
                throw StoreError.leaseLost(messageId: messageId)
            }
            if let notBefore {
                try db.execute(
                    sql: "UPDATE bot_deliveries SET next_attempt_at = ?, last_error = ? WHERE message_id = ?",
                    arguments: [Timestamp.millis(notBefore), error, messageId])
            } else {
                try db.execute(sql: "DELETE FROM bot_deliveries WHERE message_id = ?", arguments: [messageId])
            }
        }
    }
}
